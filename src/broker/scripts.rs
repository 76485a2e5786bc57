//! The two steps that must happen on the server in one piece, as Lua scripts
//! run with EVAL (the `redis` crate's script cache would need its `script`
//! feature and another package for one round trip saved per call).

use redis::{Cmd, cmd};

/// A Lua script run on the server with EVAL.
pub(crate) struct Script(&'static str);

impl Script {
    /// The EVAL command for `keys`; add the script's arguments to it.
    pub(crate) fn eval(&self, keys: &[&str]) -> Cmd {
        let mut command = cmd("EVAL");
        command.arg(self.0).arg(keys.len()).arg(keys);
        command
    }
}

/// Adds items while the stream holds fewer than the capacity; returns how many
/// it added and the stream's length after. Checked and added in one step, so
/// two producers cannot both see the last free place and overfill the stream
/// (a XLEN, then a XADD, from each, could).
///
/// KEYS: items. ARGV: capacity, then the item ids to add, in order.
pub(crate) const PRODUCE: Script = Script(
    r"
    local length = redis.call('XLEN', KEYS[1])
    local room = tonumber(ARGV[1]) - length
    local added = 0
    for i = 2, #ARGV do
        if added >= room then break end
        redis.call('XADD', KEYS[1], '*', 'item', ARGV[i])
        added = added + 1
    end
    return {added, length + added}
    ",
);

/// Settles one delivery: acknowledges it and, only if this acknowledgement
/// removed it from the pending list, deletes the entry, counts its outcome (in
/// the run's and the worker's counts) and, for a failure, writes the dead
/// letter. Returns 1 when this call settled it, 0 when another worker had
/// (after processing it too) — so an item processed twice is counted once, and
/// a worker killed right after settling has already been counted.
///
/// KEYS: items, stats, workers, dead. ARGV: group, entry id, worker name,
/// outcome (`consumed`, `failed` or `dead_lettered`), milliseconds the
/// successful attempt took, item id, deliveries, error.
// ANCHOR: settle
pub(crate) const SETTLE: Script = Script(
    r"
    if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
    redis.call('XDEL', KEYS[1], ARGV[2])
    redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
    redis.call('HINCRBY', KEYS[3], ARGV[3] .. ':' .. ARGV[4], 1)
    if ARGV[4] == 'consumed' then
        redis.call('HINCRBYFLOAT', KEYS[2], 'processing_ms', ARGV[5])
    else
        redis.call('XADD', KEYS[4], '*',
            'item', ARGV[6], 'deliveries', ARGV[7], 'error', ARGV[8])
    end
    return 1
    ",
);
// ANCHOR_END: settle

/// Adds a worker's counts of what only it sees (attempts, claims) to the run's
/// — unless the run has ended and its keys are gone: a worker that finishes an
/// attempt late must not bring them back.
///
/// KEYS: settings, stats. ARGV: field, amount, field, amount, …
pub(crate) const COUNT: Script = Script(
    r"
    if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
    for i = 1, #ARGV, 2 do
        redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
    end
    return 1
    ",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::keys::{entry, fields};

    /// The words a script spells in quotes, Redis's commands left out.
    fn quoted(script: &Script) -> Vec<&'static str> {
        script
            .0
            .split('\'')
            .skip(1)
            .step_by(2)
            .filter(|word| !word.chars().all(|c| c.is_ascii_uppercase()))
            .collect()
    }

    #[test]
    fn the_scripts_spell_every_field_as_the_rust_code_does() {
        let known = [
            fields::CONSUMED,
            fields::PROCESSING_MS,
            entry::ITEM,
            entry::DELIVERIES,
            entry::ERROR,
            // XADD's "make an id", and the worker field's separator (fields::of_worker).
            "*",
            ":",
        ];
        for script in [&PRODUCE, &SETTLE, &COUNT] {
            for word in quoted(script) {
                assert!(
                    known.contains(&word),
                    "a script spells '{word}', which no constant of keys.rs names"
                );
            }
        }
        assert_eq!(fields::of_worker("w", fields::FAILED), "w:failed");
    }
}
