//! The command line: flags and their translation into a [`SimConfig`].
//!
//! Flag names of the settings come from [`Setting::long`] and defaults from
//! [`SimConfig::DEFAULT`], so a refusal names the flag the user typed and
//! `--help` shows the default the simulator uses.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};

use queue_sim::broker::BrokerSettings;
use queue_sim::{Choice, QueueKind, Setting, SimConfig, WorkKind};

use crate::exit::Exit;

const DEFAULT: SimConfig = SimConfig::DEFAULT;

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty-printed JSON on stdout, for scripts.
    Json,
    /// A short summary for people.
    Text,
}

/// Simulate producers and consumers sharing a bounded queue, and report statistics as JSON.
#[derive(Debug, Parser)]
// Numeric flags take values that start with a hyphen (`-1`, `-inf`) so that the
// error names the flag and says what is wrong with the value, rather than
// calling it an unknown option.
#[command(name = "queue-sim", version, after_help = after_help(), args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Work items to produce in all
    #[arg(long = Setting::Items.long(), allow_hyphen_values = true, value_name = "N", default_value_t = DEFAULT.items)]
    pub items: u64,
    /// Producer threads
    #[arg(long = Setting::Producers.long(), allow_hyphen_values = true, value_name = "N", default_value_t = DEFAULT.producers)]
    pub producers: usize,
    /// Consumer threads (at least 1)
    #[arg(long = Setting::Consumers.long(), allow_hyphen_values = true, value_name = "N", default_value_t = DEFAULT.consumers)]
    pub consumers: usize,
    /// Items the queue holds before producers block. 0 is a rendezvous: each put
    /// waits until a consumer takes the item. (Unlike Python's queue.Queue, where
    /// maxsize=0 means unbounded.)
    #[arg(long = Setting::Capacity.long(), allow_hyphen_values = true, value_name = "N", default_value_t = DEFAULT.capacity)]
    pub capacity: usize,
    /// Seconds one processing attempt takes
    #[arg(long = Setting::ProcessingTime.long(), allow_hyphen_values = true, value_name = "SECS", default_value_t = DEFAULT.processing_time_s)]
    pub processing_time: f64,
    /// Probability (0 to 1) that an attempt fails
    #[arg(long = Setting::FailureRate.long(), allow_hyphen_values = true, value_name = "P", default_value_t = DEFAULT.failure_rate)]
    pub failure_rate: f64,
    /// Items per second the producers offer together [default: as fast as the queue takes them]
    #[arg(long = Setting::Rate.long(), allow_hyphen_values = true, value_name = "N")]
    pub rate: Option<f64>,
    /// Priority levels; above 1 each item gets a random priority in 0..K and the
    /// priority queue serves higher first, FIFO among equals
    #[arg(long = Setting::Priorities.long(), allow_hyphen_values = true, value_name = "K", default_value_t = DEFAULT.priorities)]
    pub priorities: u32,
    /// A consumer that waits longer than this for an item exits; once all have, producers
    /// stop and the items left are reported unprocessed [default: wait until the queue closes]
    #[arg(long = Setting::Timeout.long(), allow_hyphen_values = true, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Times a failed item is re-queued before it is dead-lettered
    #[arg(long = Setting::Retries.long(), allow_hyphen_values = true, value_name = "N", default_value_t = DEFAULT.retries)]
    pub retries: u32,
    /// Queue backend [default: channel, or priority when --priorities > 1]
    #[arg(long = Setting::Queue.long(), value_parser = choice::<QueueKind>())]
    pub queue: Option<QueueKind>,
    /// sleep: I/O-bound work; spin: CPU-bound work that needs a core
    #[arg(long, value_parser = choice::<WorkKind>(), default_value_t = DEFAULT.work)]
    pub work: WorkKind,
    /// Seed for failures and priorities; the same seed gives the same outcomes [default: random, reported in the output]
    #[arg(long, allow_hyphen_values = true, value_name = "N")]
    pub seed: Option<u64>,
    /// Results to show in results_sample (those of the lowest task ids)
    #[arg(long = Setting::Sample.long(), allow_hyphen_values = true, value_name = "N", default_value_t = DEFAULT.sample)]
    pub sample: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Never draw a progress bar (it is drawn only on a terminal, for runs over half a second)
    #[arg(long)]
    pub no_progress: bool,
    /// Also write a trace to FILE: the queue depth after every put and every item's
    /// result, as JSON, for plotting (memory grows with --items)
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
    /// Put the queue in a Redis stream read by a consumer group (redis://HOST:PORT or
    /// redis+unix:///PATH): acknowledgements, reclaimed items, dead letters in a stream
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// With --broker: the run's id, which `queue-sim worker --run ID` joins [default: made up]
    #[arg(long = "run", value_name = "ID", requires = "broker")]
    pub run_id: Option<String>,
    /// With --broker: start N worker processes of this program, each running --consumers
    /// threads, instead of consumer threads in this process
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        default_value_t = 0,
        requires = "broker"
    )]
    pub consumer_processes: usize,
    /// With --broker: seconds an item must stay unacknowledged before another worker
    /// reclaims it (a crashed or hung worker's items); longer than --processing-time
    #[arg(long, value_name = "SECS", allow_hyphen_values = true, default_value_t = DEFAULT_CLAIM_IDLE_S, requires = "broker")]
    pub claim_idle: f64,
    /// Join a broker run from another process or machine
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--claim-idle`'s default, from the library's.
const DEFAULT_CLAIM_IDLE_S: f64 = BrokerSettings::DEFAULT_CLAIM_IDLE.as_secs_f64();

/// What `queue-sim` does besides running a simulation.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work on a run that `queue-sim --broker URL --run ID` started: take its items from
    /// the broker until it is finished, then print what this process did as JSON
    Worker {
        /// The broker the run is on
        #[arg(long, value_name = "URL")]
        broker: String,
        /// The run's id
        #[arg(long = "run", value_name = "ID")]
        run_id: String,
        /// Worker threads in this process
        #[arg(
            long,
            value_name = "N",
            allow_hyphen_values = true,
            default_value_t = 1
        )]
        consumers: usize,
    },
}

/// A flag whose values are a [`Choice`]'s names, each listed in `--help` with
/// what it means.
fn choice<T: Choice + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|value| PossibleValue::new(value.name()).help(value.about())),
    )
    .map(|name| T::named(&name).expect("clap accepts only the names it lists"))
}

/// The text after the flags: the accounting identity and every exit status.
fn after_help() -> String {
    let mut text = String::from(
        "Every item ends up consumed, failed, dead-lettered or unprocessed:\n  \
         produced = consumed + failed + dead_lettered + unprocessed\n\nExit status:",
    );
    for exit in Exit::ALL {
        text.push_str(&format!("\n  {:<4} {}", exit.code(), exit.meaning()));
    }
    text
}

impl Cli {
    /// The configuration these flags describe (not yet validated).
    pub fn to_config(&self) -> SimConfig {
        SimConfig {
            items: self.items,
            producers: self.producers,
            consumers: self.consumers,
            capacity: self.capacity,
            processing_time_s: self.processing_time,
            failure_rate: self.failure_rate,
            rate_per_s: self.rate,
            priorities: self.priorities,
            timeout_s: self.timeout,
            retries: self.retries,
            queue: self
                .queue
                .unwrap_or_else(|| QueueKind::default_for(self.priorities)),
            work: self.work,
            // A small random seed is easy to copy from the output to replay the run.
            seed: self
                .seed
                .unwrap_or_else(|| u64::from(rand::random::<u32>())),
            sample: self.sample,
        }
    }
}

/// A clap error reduced to its first line: one clear line on stderr, no usage dump.
pub fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let mut lines = rendered.lines().filter(|line| !line.trim().is_empty());
    let first = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .trim_end();
    // "the following required arguments were not provided:" names them below.
    match lines.next() {
        Some(named) if first.ends_with(':') => format!("{first} {} (see --help)", named.trim()),
        _ => format!("{first} (see --help)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("queue-sim").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_defaults_are_the_seed_projects() {
        let config = parse(&["--seed", "1"]).to_config();
        assert_eq!(
            config,
            SimConfig {
                seed: 1,
                ..SimConfig::default()
            }
        );
    }

    #[test]
    fn priorities_choose_the_priority_queue_unless_a_queue_is_named() {
        assert_eq!(
            parse(&["--priorities", "3"]).to_config().queue,
            QueueKind::Priority
        );
        assert_eq!(
            parse(&["--priorities", "3", "--queue", "condvar"])
                .to_config()
                .queue,
            QueueKind::Condvar
        );
    }

    #[test]
    fn a_parse_error_is_one_line_naming_the_flag() {
        let error = Cli::try_parse_from(["queue-sim", "--items", "lots"]).unwrap_err();
        let line = one_line(&error);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--items"), "{line}");
    }

    #[test]
    fn every_setting_is_a_flag_of_the_same_name() {
        use clap::CommandFactory;
        let command = Cli::command();
        let longs: Vec<&str> = command
            .get_arguments()
            .filter_map(|a| a.get_long())
            .collect();
        for setting in [
            Setting::Items,
            Setting::Producers,
            Setting::Consumers,
            Setting::Capacity,
            Setting::ProcessingTime,
            Setting::FailureRate,
            Setting::Rate,
            Setting::Priorities,
            Setting::Timeout,
            Setting::Retries,
            Setting::Queue,
            Setting::Sample,
        ] {
            assert!(longs.contains(&setting.long()), "{setting} is not a flag");
        }
    }
}
