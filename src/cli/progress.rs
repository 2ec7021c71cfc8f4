//! Apply's progress on a terminal: one bar per group counting finished hosts, its message
//! the hosts in flight and their current step; each finished host prints a line above the
//! bars. A non-terminal gets plain timestamped lines instead (see `cli/apply.rs`).

use crate::apply::Event;
use crate::render;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The bar of hosts outside any patch group (they run only under `-ignore-window`).
pub(crate) const UNGROUPED: &str = "(no patch group)";

const TEMPLATE: &str = "{prefix:<20!} [{bar:24}] {pos}/{len} {elapsed:>4} {wide_msg}";

/// Where messages from outside the event stream (interrupts, a lost lock) go: above the
/// bars while they are shown, else straight to stderr, so no bar redraw erases them.
#[derive(Clone, Default)]
pub(crate) struct Notices(Arc<Mutex<Option<MultiProgress>>>);

impl Notices {
    pub(crate) fn print(&self, text: &str) {
        let bars = self.0.lock().ok().and_then(|bars| bars.clone());
        match bars {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn show_above(&self, multi: Option<MultiProgress>) {
        if let Ok(mut bars) = self.0.lock() {
            *bars = multi;
        }
    }
}

pub(crate) struct Progress {
    multi: MultiProgress,
    notices: Notices,
    bars: BTreeMap<String, ProgressBar>,
    /// Hosts in flight: their bar and their current step.
    in_flight: BTreeMap<String, (String, &'static str)>,
}

impl Progress {
    /// `groups`: each bar's name and number of hosts, in the order to show them.
    pub(crate) fn new(
        groups: &[(String, usize)],
        target: ProgressDrawTarget,
        notices: &Notices,
    ) -> Progress {
        let multi = MultiProgress::with_draw_target(target);
        notices.show_above(Some(multi.clone()));
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bars = groups
            .iter()
            .filter(|(_, hosts)| *hosts > 0)
            .map(|(name, hosts)| {
                let bar = multi.add(
                    ProgressBar::new(*hosts as u64)
                        .with_style(style.clone())
                        .with_prefix(name.clone())
                        .with_message("waiting"),
                );
                (name.clone(), bar)
            })
            .collect();
        Progress {
            multi,
            notices: notices.clone(),
            bars,
            in_flight: BTreeMap::new(),
        }
    }

    /// Leaves every bar as last drawn and stops drawing, so what is printed next (the
    /// summary) is not redrawn over.
    pub(crate) fn finish(self) {
        for bar in self.bars.values().filter(|bar| !bar.is_finished()) {
            bar.abandon();
        }
        self.notices.show_above(None);
    }

    pub(crate) fn event(&mut self, event: &Event) {
        match event {
            Event::HostStarted { host, group } => {
                let bar = group.clone().unwrap_or_else(|| UNGROUPED.to_owned());
                self.in_flight
                    .insert(host.clone(), (bar.clone(), "started"));
                self.show_in_flight(&bar);
            }
            Event::Step { host, step } => {
                if let Some((bar, current)) = self.in_flight.get_mut(host) {
                    *current = step;
                    let bar = bar.clone();
                    self.show_in_flight(&bar);
                }
            }
            Event::HostFinished(report) => {
                self.in_flight.remove(&report.host);
                let bar = report.group.clone().unwrap_or_else(|| UNGROUPED.to_owned());
                if let Some(progress) = self.bars.get(&bar) {
                    progress.inc(1);
                }
                self.show_in_flight(&bar);
                if let Some(line) = render::apply::event_line(event) {
                    let _ = self.multi.println(line);
                }
            }
            Event::GroupFinished { group, succeeded } => {
                if let Some(bar) = self.bars.get(group) {
                    bar.finish_with_message(if *succeeded {
                        "every host succeeded"
                    } else {
                        "not every host succeeded"
                    });
                }
            }
        }
    }

    fn show_in_flight(&self, bar: &str) {
        let Some(progress) = self.bars.get(bar) else {
            return;
        };
        if progress.is_finished() {
            return;
        }
        let hosts: Vec<String> = self
            .in_flight
            .iter()
            .filter(|(_, (b, _))| b == bar)
            .map(|(host, (_, step))| format!("{host}: {step}"))
            .collect();
        progress.set_message(if hosts.is_empty() {
            "waiting".to_owned()
        } else {
            hosts.join(", ")
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{HostOutcome, HostReport};
    use indicatif::InMemoryTerm;

    fn finished(host: &str, group: &str) -> Event {
        Event::HostFinished(Box::new(HostReport {
            host: host.to_owned(),
            group: Some(group.to_owned()),
            outcome: HostOutcome::Succeeded,
            started_at: None,
            finished_at: None,
            packages: Vec::new(),
            rebooted: false,
            log_tail: None,
        }))
    }

    #[test]
    fn bars_count_finished_hosts_and_name_the_steps_in_flight() {
        let term = InMemoryTerm::new(12, 100);
        let groups = [
            ("group.canary".to_owned(), 1),
            ("group.web".to_owned(), 3),
            ("group.empty".to_owned(), 0),
        ];
        let notices = Notices::default();
        let mut progress = Progress::new(
            &groups,
            ProgressDrawTarget::term_like(Box::new(term.clone())),
            &notices,
        );
        let events = [
            Event::HostStarted {
                host: "c-1".into(),
                group: Some("group.canary".into()),
            },
            finished("c-1", "group.canary"),
            Event::GroupFinished {
                group: "group.canary".into(),
                succeeded: true,
            },
            Event::HostStarted {
                host: "w-1".into(),
                group: Some("group.web".into()),
            },
            Event::HostStarted {
                host: "w-2".into(),
                group: Some("group.web".into()),
            },
            Event::Step {
                host: "w-2".into(),
                step: "reboot",
            },
            finished("w-1", "group.web"),
        ];
        for event in &events {
            progress.event(event);
        }
        notices.print("Interrupt received: no new host starts");
        // Drawing is rate-limited: redraw after short pauses until the last state shows (a
        // loaded machine may need more than one pause).
        let expected = [
            "group.web",
            "1/3",
            "w-2: reboot",
            "every host succeeded",
            "Interrupt received",
        ];
        let mut screen = String::new();
        for _ in 0..40 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            for bar in progress.bars.values() {
                bar.tick();
            }
            screen = term.contents();
            if expected.iter().all(|e| screen.contains(e)) {
                break;
            }
        }
        for expected in expected {
            assert!(screen.contains(expected), "{expected} not shown:\n{screen}");
        }
        assert!(
            screen.contains("host.c-1: SUCCEEDED"),
            "finished hosts print above the bars:\n{screen}"
        );
        assert!(
            screen.contains("host.w-1: SUCCEEDED"),
            "finished hosts print above the bars:\n{screen}"
        );
        let web = progress.bars["group.web"].clone();
        assert_eq!((web.position(), web.length()), (1, Some(3)));
        assert_eq!(web.message(), "w-2: reboot");
        let canary = &progress.bars["group.canary"];
        assert!(canary.is_finished());
        assert_eq!(canary.message(), "every host succeeded");
        assert!(!progress.bars.contains_key("group.empty"));
        progress.finish();
        assert!(notices.0.lock().unwrap().is_none(), "no bars once finished");
    }
}
