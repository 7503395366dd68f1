//! `foreach`: one service per item (the array at a path, or what an expression yields), named
//! by a suffix template, and what the check's own service says about them (the roll-up).
//!
//! It deliberately judges nothing itself: each item's service is judged by `judge.rs` in a
//! scope that binds the item.

use std::collections::HashSet;

use checkd_expr::{Items, Scope};
use checkd_model::plan::{Foreach, ForeachItems, Job, Rollup};
use checkd_model::{Partial, ServiceResult, State};

use super::json::{self, Document};
use super::judge::{failed, judge, service, Place, Unbound};
use super::HttpResponse;

/// What the items of one response are judged with.
pub(super) struct Judged<'a, 's> {
    pub job: &'a Job,
    pub spec: &'a Foreach,
    pub scope: &'a Scope<'s>,
    pub document: &'a Document<'a, 's>,
    pub unbound: &'a Unbound,
    pub response: &'a HttpResponse,
}

impl Judged<'_, '_> {
    /// The item services, in order. Items that cannot be found are a CRIT partial on the base
    /// service (`base`) and no items.
    pub(super) fn items(&mut self, base: &mut Vec<Partial>) -> Vec<ServiceResult> {
        let items = match &self.spec.items {
            ForeachItems::Path(path) => {
                let name = json::name(path, "response");
                match self.document.lookup(path, base) {
                    None => return Vec::new(),
                    Some(_) => match self.scope.items_at("body", &path.pointer) {
                        Ok(items) => items,
                        Err(Some(other)) => {
                            let text =
                                format!("{name} is {}, expected an array", json::kind(&other));
                            base.push(Partial::new(State::Crit, text));
                            return Vec::new();
                        }
                        Err(None) => {
                            base.push(Partial::new(State::Crit, format!("no value at {name}")));
                            return Vec::new();
                        }
                    },
                }
            }
            ForeachItems::Cel(expr) if self.unbound.blocks(expr) => return Vec::new(),
            ForeachItems::Cel(expr) => match self.scope.items(expr) {
                Ok(items) => items,
                Err(error) => {
                    base.push(failed(expr.source(), &error));
                    return Vec::new();
                }
            },
        };
        self.services(&items)
    }

    fn services(&self, items: &Items<'_>) -> Vec<ServiceResult> {
        // The base service's name is taken too: an empty suffix must not shadow it.
        let mut taken = HashSet::from([self.job.service.clone()]);
        let mut services = Vec::with_capacity(items.len());
        for index in 0..items.len() {
            let scope = self.scope.with_item(items, index);
            let mut partials = Vec::new();
            let suffix = match scope.render(&self.spec.suffix) {
                Ok(suffix) => printable(&suffix),
                Err(error) => {
                    let mut failure = failed(self.spec.suffix.source(), &error);
                    failure.text.push_str(" (needed for the service name)");
                    partials.push(failure);
                    format!("{}{index}", self.spec.suffix.literal())
                }
            };
            let name = unique(format!("{}{suffix}", self.job.service), index, &mut taken);
            let document = Document::new(&scope, "item", None);
            let place = Place {
                document: &document,
                scope: &scope,
                unbound: self.unbound,
                root: "item",
            };
            judge(
                &self.spec.expect,
                &self.spec.metrics,
                &place,
                self.response,
                &mut partials,
            );
            services.push(service(
                self.job,
                name,
                partials,
                &self.spec.texts,
                &scope,
                self.unbound,
                None,
            ));
        }
        services
    }
}

/// The base service's word on its items: "2 of 40 CRIT, 1 of 40 WARN", or "40 items OK"; OK
/// itself, or the worst item state with `rollup: worst`.
pub(super) fn rollup(spec: &Foreach, items: &[ServiceResult]) -> Option<Partial> {
    let total = items.len();
    let worst = items.iter().map(|s| s.state).max()?;
    let text = if worst == State::Ok {
        format!("{total} {} OK", if total == 1 { "item" } else { "items" })
    } else {
        [State::Crit, State::Unknown, State::Warn]
            .into_iter()
            .filter_map(|state| {
                let count = items.iter().filter(|s| s.state == state).count();
                (count > 0).then(|| format!("{count} of {total} {state}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let state = match spec.rollup {
        Rollup::Count => State::Ok,
        Rollup::Worst => worst,
    };
    Some(Partial::new(state, text))
}

/// A service name is one line: control characters become spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `name`, or `name #<index>` when an earlier service already has that name.
fn unique(mut name: String, index: usize, taken: &mut HashSet<String>) -> String {
    while taken.contains(&name) {
        name = format!("{name} #{index}");
    }
    taken.insert(name.clone());
    name
}
