//! The saved plan file: the plan as JSON with a checksum, so a truncated or edited file is
//! refused instead of half-applied.

use super::{FORMAT_VERSION, Plan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize)]
struct PlanFile {
    format_version: u32,
    /// SHA-256 of the compact JSON of `plan`.
    checksum: String,
    plan: Plan,
}

fn checksum(plan: &Plan) -> String {
    let compact = serde_json::to_vec(plan).unwrap_or_default();
    hex::encode(Sha256::digest(&compact))
}

/// The bytes of a plan file. Same plan, same bytes.
pub fn to_bytes(plan: &Plan) -> Vec<u8> {
    let file = PlanFile {
        format_version: FORMAT_VERSION,
        checksum: checksum(plan),
        plan: plan.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Digest identifying a plan in state history and reports.
pub fn digest(plan: &Plan) -> String {
    checksum(plan)
}

/// Reads a plan file, refusing other versions and any file whose checksum does not match.
pub fn from_bytes(bytes: &[u8]) -> Result<Plan, String> {
    #[derive(Deserialize)]
    struct Header {
        format_version: u32,
    }
    let header: Header = serde_json::from_slice(bytes)
        .map_err(|e| format!("the file is not a patchform plan or is truncated ({e})"))?;
    if header.format_version != FORMAT_VERSION {
        return Err(format!(
            "plan format_version {} is not supported (this patchform reads {FORMAT_VERSION}); make the plan again",
            header.format_version
        ));
    }
    let file: PlanFile = serde_json::from_slice(bytes)
        .map_err(|e| format!("the plan file does not have the expected shape ({e})"))?;
    if checksum(&file.plan) != file.checksum {
        return Err("the plan file's checksum does not match its content: it was edited or damaged; make the plan again".to_owned());
    }
    Ok(file.plan)
}
