//! Finds the references (`var.x`, `local.y`, `module.m.out`, `patch_group.web`) in an expression.

use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ForExpr, TraversalOperator};
use hcl::edit::visit::{Visit, visit_expr, visit_for_expr};
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
