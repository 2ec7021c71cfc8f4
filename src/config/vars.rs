//! Input variables: type constraints, conversion, and where values come from.
//!
//! Precedence follows Terraform, lowest first: the declared `default`, `PATCHFORM_VAR_<name>`
//! environment variables, `patchform.pfvars`, `*.auto.pfvars` in lexical order, then `-var`
//! and `-var-file` in command-line order.

use hcl::Value;
use hcl::edit::expr::Expression;
use std::fmt;
use std::path::PathBuf;

/// One `-var NAME=VALUE` or `-var-file FILE` argument, kept in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarArg {
    Assign { name: String, raw: String },
    File(PathBuf),
}

/// Every value a user supplied from outside the configuration.
#[derive(Debug, Clone, Default)]
pub struct VarInputs {
    pub args: Vec<VarArg>,
    /// `(name, raw value)` of every `PATCHFORM_VAR_<name>` environment variable.
    pub env: Vec<(String, String)>,
}

impl VarInputs {
    /// Reads `PATCHFORM_VAR_*` from an environment listing (passed in so tests control it).
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> VarInputs {
        self.env = vars
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix("PATCHFORM_VAR_").map(|n| (n.to_owned(), v)))
            .collect();
        self.env.sort();
        self
    }
}

/// A `type = ...` constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VarType {
    Any,
    String,
    Number,
    Bool,
    List(Box<VarType>),
    Set(Box<VarType>),
    Map(Box<VarType>),
}

impl fmt::Display for VarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarType::Any => f.write_str("any"),
            VarType::String => f.write_str("string"),
            VarType::Number => f.write_str("number"),
            VarType::Bool => f.write_str("bool"),
            VarType::List(t) => write!(f, "list({t})"),
            VarType::Set(t) => write!(f, "set({t})"),
            VarType::Map(t) => write!(f, "map({t})"),
        }
    }
}

/// Reads a type constraint from its unevaluated expression (`string`, `list(string)`, ...).
pub(crate) fn parse_type(expr: &Expression) -> Option<VarType> {
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "any" => Some(VarType::Any),
            "string" => Some(VarType::String),
            "number" => Some(VarType::Number),
            "bool" => Some(VarType::Bool),
            _ => None,
        },
        Expression::FuncCall(call) if call.name.namespace.is_empty() => {
            let mut args = call.args.iter();
            let inner = parse_type(args.next()?)?;
            if args.next().is_some() {
                return None;
            }
            match call.name.name.as_str() {
                "list" => Some(VarType::List(Box::new(inner))),
                "set" => Some(VarType::Set(Box::new(inner))),
                "map" => Some(VarType::Map(Box::new(inner))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Converts a value to a type as Terraform does: primitives convert between each other where
/// the text allows it, collections convert element by element.
pub(crate) fn convert(value: Value, ty: &VarType) -> Result<Value, String> {
    match (ty, value) {
        (VarType::Any, v) => Ok(v),
        (_, Value::Null) => Ok(Value::Null),
        (VarType::String, Value::String(s)) => Ok(Value::String(s)),
        (VarType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (VarType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (VarType::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (VarType::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(hcl::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("\"{s}\" is not a number")),
        (VarType::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (VarType::Bool, Value::String(s)) if s == "true" || s == "false" => {
            Ok(Value::Bool(s == "true"))
        }
        (VarType::List(inner) | VarType::Set(inner), Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let item = convert(item, inner)?;
                if matches!(ty, VarType::List(_)) || !out.contains(&item) {
                    out.push(item);
                }
            }
            Ok(Value::Array(out))
        }
        (VarType::Map(inner), Value::Object(map)) => {
            let mut out = hcl::Map::new();
            for (k, v) in map {
                out.insert(k, convert(v, inner)?);
            }
            Ok(Value::Object(out))
        }
        (ty, value) => Err(format!("{} is not a {ty}", describe(&value))),
    }
}

/// A short description of a value's kind for type errors.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> Option<VarType> {
        parse_type(&text.parse::<Expression>().unwrap())
    }

    #[test]
    fn type_constraints_parse_and_print() {
        for text in [
            "string",
            "number",
            "bool",
            "any",
            "list(string)",
            "map(list(number))",
        ] {
            assert_eq!(ty(text).unwrap().to_string(), text);
        }
        assert_eq!(ty("object(string)"), None);
        assert_eq!(ty("list(string, number)"), None);
        assert_eq!(ty("\"string\""), None);
    }

    #[test]
    fn conversion_follows_terraform() {
        assert_eq!(
            convert(Value::from("7"), &VarType::Number).unwrap(),
            Value::from(7)
        );
        assert_eq!(
            convert(Value::from(7), &VarType::String).unwrap(),
            Value::from("7")
        );
        assert!(convert(Value::from("x"), &VarType::Number).is_err());
        assert!(convert(Value::from("x"), &VarType::List(Box::new(VarType::String))).is_err());
        let set = convert(
            Value::Array(vec![Value::from("a"), Value::from("a")]),
            &VarType::Set(Box::new(VarType::String)),
        )
        .unwrap();
        assert_eq!(set, Value::Array(vec![Value::from("a")]));
    }
}
