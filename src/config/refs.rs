//! Finds the references (`var.x`, `local.y`, `module.m.out`, `patch_group.web`) in an expression.

use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ForExpr, TraversalOperator};
use hcl::edit::template::ForTemplateExpr;
use hcl::edit::visit::{Visit, visit_expr, visit_for_expr, visit_for_template_expr};
use std::collections::HashSet;
use std::ops::Range;

/// `root.name` as written, e.g. `var.region` has root `var` and name `region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) root: String,
    pub(crate) name: Option<String>,
    pub(crate) range: Range<usize>,
}

#[derive(Default)]
struct Collector {
    /// Iteration variables of enclosing `for` expressions: not references.
    scopes: Vec<HashSet<String>>,
    found: Vec<Reference>,
}

impl Visit for Collector {
    fn visit_for_expr(&mut self, expr: &ForExpr) {
        let mut scope = HashSet::from([expr.intro.value_var.as_str().to_owned()]);
        if let Some(key) = &expr.intro.key_var {
            scope.insert(key.as_str().to_owned());
        }
        self.scopes.push(scope);
        visit_for_expr(self, expr);
        self.scopes.pop();
    }

    fn visit_for_template_expr(&mut self, expr: &ForTemplateExpr) {
        // hcl-edit 0.10's default walk skips the collection of a `%{ for }` directive.
        self.visit_expr(&expr.collection_expr);
        let mut scope = HashSet::from([expr.value_var.as_str().to_owned()]);
        if let Some(key) = &expr.key_var {
            scope.insert(key.as_str().to_owned());
        }
        self.scopes.push(scope);
        visit_for_template_expr(self, expr);
        self.scopes.pop();
    }

    fn visit_expr(&mut self, expr: &Expression) {
        let (root, operators, range) = match expr {
            Expression::Traversal(traversal) => match &traversal.expr {
                Expression::Variable(variable) => (
                    variable.as_str(),
                    &traversal.operators[..],
                    traversal.span(),
                ),
                _ => return visit_expr(self, expr),
            },
            Expression::Variable(variable) => (variable.as_str(), &[][..], variable.span()),
            _ => return visit_expr(self, expr),
        };
        if !self.scopes.iter().any(|scope| scope.contains(root)) {
            let name = match operators.first().map(|op| op.value()) {
                Some(TraversalOperator::GetAttr(ident)) => Some(ident.as_str().to_owned()),
                _ => None,
            };
            self.found.push(Reference {
                root: root.to_owned(),
                name,
                range: range.unwrap_or(0..0),
            });
        }
        // Index expressions inside a traversal (`x[local.i]`) hold references of their own.
        if let Expression::Traversal(traversal) = expr {
            for operator in &traversal.operators {
                if let TraversalOperator::Index(index) = operator.value() {
                    self.visit_expr(index);
                }
            }
        }
    }
}

pub(crate) fn references(expr: &Expression) -> Vec<Reference> {
    let mut collector = Collector::default();
    collector.visit_expr(expr);
    collector.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(text: &str) -> Vec<String> {
        let expr: Expression = text.parse().unwrap();
        references(&expr)
            .into_iter()
            .map(|r| format!("{}.{}", r.root, r.name.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn iteration_variables_are_not_references() {
        assert_eq!(roots("[for x in var.xs : x.name]"), ["var.xs"]);
        assert_eq!(
            roots("{ for k, v in local.m : k => v if v != var.skip }"),
            ["local.m", "var.skip"]
        );
        assert_eq!(
            roots("\"%{ for t in local.ts }${t}${var.sep}%{ endfor }\""),
            ["local.ts", "var.sep"]
        );
        assert_eq!(roots("module.m.out[local.i]"), ["module.m", "local.i"]);
        assert_eq!(roots("patch_group.web"), ["patch_group.web"]);
    }
}
