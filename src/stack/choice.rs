//! Which stack a host runs, as a scenario (`stack = ...`) or the command line (`--stack ...`) says,
//! and how to make it.

use super::{ExternalConfig, ExternalStack, NetlabStack, Stack, StackError};
use crate::tcp::TcpConfig;

/// A command's program `@netlab` is this netlab itself (for `["@netlab", "stack-adapter"]`).
pub const NETLAB_ITSELF: &str = "@netlab";

/// The path of the netlab binary: `$NETLAB_BIN` if set (tests, libraries embedding netlab),
/// else the running executable.
fn netlab_binary() -> String {
    std::env::var("NETLAB_BIN").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "netlab".to_string())
    })
}

/// The stack of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackChoice {
    /// netlab's own TCP/IP (the default).
    Netlab,
    /// smoltcp, in-process (cargo feature `smoltcp`).
    Smoltcp,
    /// An external process speaking docs/stack-protocol.md on its stdin/stdout.
    Command {
        /// The program and its arguments.
        command: Vec<String>,
        /// Wall-clock time one step may take (default: the protocol's, 5 s).
        step_timeout: Option<std::time::Duration>,
    },
}

impl StackChoice {
    /// The names a scenario or `--stack` may use besides a command.
    pub const NAMES: &'static [&'static str] = &["netlab", "smoltcp"];

    /// `--stack` on the command line: "netlab", "smoltcp", or a command line (words separated by
    /// spaces; no shell quoting) that starts an external stack.
    pub fn parse_cli(s: &str) -> Result<StackChoice, String> {
        match s.trim() {
            "" => Err("expected a stack: \"netlab\", \"smoltcp\" or a command".to_string()),
            "netlab" => Ok(StackChoice::Netlab),
            "smoltcp" => StackChoice::named("smoltcp"),
            cmd => Ok(StackChoice::Command {
                command: cmd.split_whitespace().map(str::to_string).collect(),
                step_timeout: None,
            }),
        }
    }

    /// The stack called `name` (not a command), if this build has it.
    pub fn named(name: &str) -> Result<StackChoice, String> {
        match name {
            "netlab" => Ok(StackChoice::Netlab),
            "smoltcp" if cfg!(feature = "smoltcp") => Ok(StackChoice::Smoltcp),
            "smoltcp" => Err("this netlab was built without the `smoltcp` feature".to_string()),
            other => Err(format!(
                "expected a stack, \"netlab\", \"smoltcp\" or {{ command = [\"program\", ...] }}, found \"{other}\""
            )),
        }
    }

    /// Whether this is netlab's own stack (which simulated hosts run directly, without the
    /// datagram boundary).
    pub fn is_netlab(&self) -> bool {
        *self == StackChoice::Netlab
    }

    /// Makes the stack for host `host`; `key` is the host's seeded key (netlab's ISN key, smoltcp's
    /// and an external stack's seed), `defaults` its TCP settings.
    pub fn make(&self, host: &str, key: u64, defaults: &TcpConfig) -> Result<Box<dyn Stack>, StackError> {
        match self {
            StackChoice::Netlab => Ok(Box::new(NetlabStack::new(key, defaults.clone()))),
            #[cfg(feature = "smoltcp")]
            StackChoice::Smoltcp => Ok(Box::new(super::SmoltcpStack::new(key, defaults.clone()))),
            #[cfg(not(feature = "smoltcp"))]
            StackChoice::Smoltcp => Ok(Box::new(NetlabStack::new(key, defaults.clone()))),
            StackChoice::Command { command, step_timeout } => {
                let mut command = command.clone();
                if command.first().is_some_and(|p| p == NETLAB_ITSELF) {
                    command[0] = netlab_binary();
                }
                let mut cfg = ExternalConfig::new(command, host, key, defaults.clone());
                if let Some(t) = step_timeout {
                    cfg.step_timeout = *t;
                }
                Ok(Box::new(ExternalStack::spawn(cfg)?))
            }
        }
    }

    /// A short name for reports.
    pub fn label(&self) -> String {
        match self {
            StackChoice::Netlab => "netlab".to_string(),
            StackChoice::Smoltcp => "smoltcp".to_string(),
            StackChoice::Command { command, .. } => format!("external:{}", command.join(" ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_a_stack_or_gives_a_command() {
        assert_eq!(StackChoice::parse_cli("netlab"), Ok(StackChoice::Netlab));
        assert_eq!(
            StackChoice::parse_cli("./adapter --verbose"),
            Ok(StackChoice::Command { command: vec!["./adapter".into(), "--verbose".into()], step_timeout: None })
        );
        assert!(StackChoice::parse_cli("  ").is_err());
        assert!(StackChoice::named("linux").unwrap_err().contains("found \"linux\""));
    }
}
