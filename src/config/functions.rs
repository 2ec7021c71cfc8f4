//! The built-in functions expressions may call; hcl-rs ships none of its own.
//!
//! Each is a plain `fn` because hcl-rs takes function pointers, so none may capture state.

use hcl::Value;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};

type FnResult = Result<Value, String>;

pub(crate) fn declare_all(ctx: &mut Context<'_>) {
    let any = || ParamType::Any;
    let string = || ParamType::String;
    let list = || ParamType::array_of(ParamType::Any);
    let defs: [(&str, FuncDef); 18] = [
        ("length", FuncDef::builder().param(any()).build(length)),
        ("upper", FuncDef::builder().param(string()).build(upper)),
        ("lower", FuncDef::builder().param(string()).build(lower)),
        (
            "trimspace",
            FuncDef::builder().param(string()).build(trimspace),
        ),
        (
            "concat",
            FuncDef::builder().variadic_param(list()).build(concat),
        ),
        (
            "merge",
            FuncDef::builder()
                .variadic_param(ParamType::object_of(any()))
                .build(merge),
        ),
        (
            "contains",
            FuncDef::builder()
                .param(list())
                .param(any())
                .build(contains),
        ),
        (
            "join",
            FuncDef::builder()
                .param(string())
                .param(ParamType::array_of(string()))
                .build(join),
        ),
        (
            "split",
            FuncDef::builder()
                .param(string())
                .param(string())
                .build(split),
        ),
        (
            "replace",
            FuncDef::builder()
                .param(string())
                .param(string())
                .param(string())
                .build(replace),
        ),
        (
            "keys",
            FuncDef::builder()
                .param(ParamType::object_of(any()))
                .build(keys),
        ),
        (
            "values",
            FuncDef::builder()
                .param(ParamType::object_of(any()))
                .build(values),
        ),
        (
            "lookup",
            FuncDef::builder()
                .param(ParamType::object_of(any()))
                .param(string())
                .param(any())
                .build(lookup),
        ),
        ("tostring", FuncDef::builder().param(any()).build(tostring)),
        ("tonumber", FuncDef::builder().param(any()).build(tonumber)),
        (
            "coalesce",
            FuncDef::builder().variadic_param(any()).build(coalesce),
        ),
        ("distinct", FuncDef::builder().param(list()).build(distinct)),
        ("flatten", FuncDef::builder().param(list()).build(flatten)),
    ];
    for (name, def) in defs {
        ctx.declare_func(name, def);
    }
}

fn arg(args: &FuncArgs, index: usize) -> &Value {
    &args[index]
}

fn str_arg(args: &FuncArgs, index: usize) -> &str {
    arg(args, index).as_str().unwrap_or_default()
}

fn length(args: FuncArgs) -> FnResult {
    let n = match arg(&args, 0) {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        other => return Err(format!("cannot take the length of `{other}`")),
    };
    Ok(Value::from(n as u64))
}

fn upper(args: FuncArgs) -> FnResult {
    Ok(Value::from(str_arg(&args, 0).to_uppercase()))
}

fn lower(args: FuncArgs) -> FnResult {
    Ok(Value::from(str_arg(&args, 0).to_lowercase()))
}

fn trimspace(args: FuncArgs) -> FnResult {
    Ok(Value::from(str_arg(&args, 0).trim()))
}

fn concat(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    for value in args.variadic_args() {
        if let Value::Array(items) = value {
            out.extend(items.iter().cloned());
        }
    }
    Ok(Value::Array(out))
}

fn merge(args: FuncArgs) -> FnResult {
    let mut out = hcl::Map::new();
    for value in args.variadic_args() {
        if let Value::Object(map) = value {
            out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(Value::Object(out))
}

fn contains(args: FuncArgs) -> FnResult {
    let found = match arg(&args, 0) {
        Value::Array(items) => items.contains(arg(&args, 1)),
        _ => false,
    };
    Ok(Value::Bool(found))
}

fn join(args: FuncArgs) -> FnResult {
    let parts: Vec<&str> = match arg(&args, 1) {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    Ok(Value::from(parts.join(str_arg(&args, 0))))
}

fn split(args: FuncArgs) -> FnResult {
    let separator = str_arg(&args, 0);
    if separator.is_empty() {
        return Err("the separator must not be empty".to_owned());
    }
    Ok(Value::Array(
        str_arg(&args, 1)
            .split(separator)
            .map(Value::from)
            .collect(),
    ))
}

fn replace(args: FuncArgs) -> FnResult {
    Ok(Value::from(
        str_arg(&args, 0).replace(str_arg(&args, 1), str_arg(&args, 2)),
    ))
}

fn keys(args: FuncArgs) -> FnResult {
    match arg(&args, 0) {
        Value::Object(map) => Ok(Value::Array(map.keys().cloned().map(Value::from).collect())),
        _ => Ok(Value::Array(Vec::new())),
    }
}

fn values(args: FuncArgs) -> FnResult {
    match arg(&args, 0) {
        Value::Object(map) => Ok(Value::Array(map.values().cloned().collect())),
        _ => Ok(Value::Array(Vec::new())),
    }
}

fn lookup(args: FuncArgs) -> FnResult {
    match arg(&args, 0) {
        Value::Object(map) => Ok(map
            .get(str_arg(&args, 1))
            .cloned()
            .unwrap_or_else(|| arg(&args, 2).clone())),
        _ => Ok(arg(&args, 2).clone()),
    }
}

fn tostring(args: FuncArgs) -> FnResult {
    match arg(&args, 0) {
        Value::String(s) => Ok(Value::from(s.clone())),
        Value::Number(n) => Ok(Value::from(n.to_string())),
        Value::Bool(b) => Ok(Value::from(b.to_string())),
        other => Err(format!("cannot convert `{other}` to a string")),
    }
}

fn tonumber(args: FuncArgs) -> FnResult {
    match arg(&args, 0) {
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(hcl::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("cannot convert \"{s}\" to a number")),
        other => Err(format!("cannot convert `{other}` to a number")),
    }
}

fn coalesce(args: FuncArgs) -> FnResult {
    args.variadic_args()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "no non-null, non-empty argument".to_owned())
}

fn distinct(args: FuncArgs) -> FnResult {
    let mut out: Vec<Value> = Vec::new();
    if let Value::Array(items) = arg(&args, 0) {
        for item in items {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
    }
    Ok(Value::Array(out))
}

fn flatten(args: FuncArgs) -> FnResult {
    fn walk(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
            other => out.push(other.clone()),
        }
    }
    let mut out = Vec::new();
    walk(arg(&args, 0), &mut out);
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(text: &str) -> Result<Value, String> {
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        let expr: hcl::Expression = text.parse().map_err(|e: hcl::Error| e.to_string())?;
        expr.evaluate(&ctx).map_err(|e| e.to_string())
    }

    #[test]
    fn functions_evaluate_like_terraform() {
        let cases = [
            ("length([1, 2, 3])", "3"),
            ("upper(\"ab\")", "\"AB\""),
            ("concat([1], [2, 3])", "[1,2,3]"),
            ("join(\",\", [\"a\", \"b\"])", "\"a,b\""),
            ("split(\",\", \"a,b\")", "[\"a\",\"b\"]"),
            ("lookup({a = 1}, \"b\", 2)", "2"),
            ("coalesce(null, \"\", \"x\")", "\"x\""),
            ("distinct([1, 1, 2])", "[1,2]"),
            ("flatten([[1], [2, [3]]])", "[1,2,3]"),
            ("tonumber(\"7\")", "7"),
            ("contains([\"a\"], \"a\")", "true"),
            ("keys(merge({a = 1}, {b = 2}))", "[\"a\",\"b\"]"),
        ];
        for (input, expected) in cases {
            let value = eval(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(serde_json::to_string(&value).unwrap(), expected, "{input}");
        }
        assert!(eval("tonumber(\"x\")").is_err());
        assert!(eval("split(\"\", \"x\")").is_err());
    }
}
