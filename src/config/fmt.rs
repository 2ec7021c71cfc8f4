//! Temporary stand-in until the formatter lands.
pub(crate) fn format_source(src: &str) -> Result<String, hcl::edit::parser::Error> {
    src.parse::<hcl::edit::structure::Body>()
        .map(|b| b.to_string())
}
