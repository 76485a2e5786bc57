//! Settings chosen by name — the queue backend and the kind of work — with
//! each name and its meaning written once, for flags, reports and `--help` alike.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A setting chosen from a few named values. Each value's name — in flags,
/// reports and messages — and its one-line description are written here once.
pub trait Choice: Copy + PartialEq + 'static {
    /// Every value, in the order help lists them.
    const ALL: &'static [Self];

    /// The value's name, as a flag takes it and a report shows it.
    fn name(self) -> &'static str;

    /// What choosing this value means, in one line.
    fn about(self) -> &'static str;

    /// The value named `name`, if there is one.
    fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.name() == name)
    }
}

/// Which queue carries the work items from producers to consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// crossbeam-channel's bounded channel.
    Channel,
    /// The hand-made bounded FIFO queue.
    Condvar,
    /// The hand-made bounded priority queue.
    Priority,
}

impl Choice for QueueKind {
    const ALL: &'static [Self] = &[QueueKind::Channel, QueueKind::Condvar, QueueKind::Priority];

    fn name(self) -> &'static str {
        match self {
            QueueKind::Channel => "channel",
            QueueKind::Condvar => "condvar",
            QueueKind::Priority => "priority",
        }
    }

    fn about(self) -> &'static str {
        match self {
            QueueKind::Channel => {
                "crossbeam-channel's bounded channel (capacity 0 is a rendezvous channel)"
            }
            QueueKind::Condvar => {
                "the hand-made bounded FIFO queue: a `parking_lot` mutex and two condvars"
            }
            QueueKind::Priority => {
                "the hand-made bounded priority queue: higher priority first, FIFO among equals"
            }
        }
    }
}

impl QueueKind {
    /// The queue used when none is named: the priority queue when items have
    /// priorities (`priorities` > 1), the channel otherwise.
    pub fn default_for(priorities: u32) -> Self {
        if priorities > 1 {
            QueueKind::Priority
        } else {
            QueueKind::Channel
        }
    }
}

/// What processing an item costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// The worker sleeps: I/O-bound work.
    Sleep,
    /// The worker burns its own CPU time: CPU-bound work.
    Spin,
}

impl Choice for WorkKind {
    const ALL: &'static [Self] = &[WorkKind::Sleep, WorkKind::Spin];

    fn name(self) -> &'static str {
        match self {
            WorkKind::Sleep => "sleep",
            WorkKind::Spin => "spin",
        }
    }

    fn about(self) -> &'static str {
        match self {
            WorkKind::Sleep => {
                "the worker sleeps: stands for I/O-bound work, which needs no CPU while it waits"
            }
            WorkKind::Spin => {
                "the worker burns its own CPU time: CPU-bound work, limited by the number of cores"
            }
        }
    }
}

/// Serialized, read back and displayed by [`Choice::name`], so reports and
/// flags agree.
macro_rules! named_by_choice {
    ($($kind:ty),*) => {$(
        impl Serialize for $kind {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $kind {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = String::deserialize(deserializer)?;
                <$kind>::named(&name).ok_or_else(|| {
                    serde::de::Error::custom(format!("no {} is named {name:?}", stringify!($kind)))
                })
            }
        }

        impl fmt::Display for $kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}

named_by_choice!(QueueKind, WorkKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_found_by_the_name_reports_show() {
        for &queue in QueueKind::ALL {
            assert_eq!(QueueKind::named(queue.name()), Some(queue));
            assert_eq!(
                serde_json::to_value(queue).unwrap(),
                serde_json::json!(queue.name())
            );
        }
        assert_eq!(WorkKind::named("spin"), Some(WorkKind::Spin));
        assert_eq!(WorkKind::named("nap"), None);
    }
}
