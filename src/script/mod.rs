//! Packet scripts in packetdrill's syntax (issue 12): a script is the remote peer of one stack under
//! test. It makes socket calls on the stack, injects segments (`<`) and expects the segments the
//! stack sends (`>`) at given times, with a tolerance, on the simulated clock. docs/scripts.md
//! describes the accepted grammar and every difference from packetdrill.
//!
//! - `lexer`, `parser`, `ast`: the grammar; `error`: positions and parse errors;
//! - `packet`: building inbound datagrams, reading outbound ones, sequence mapping, comparison;
//! - `syscalls`: socket calls on the `Stack` interface; `runner`: the clock and the event loop;
//! - `cli`: `netlab script FILE.pkt ...`.

pub mod ast;
pub mod cli;
pub mod error;
pub mod lexer;
pub mod packet;
pub mod parser;
pub mod runner;
pub mod syscalls;

pub use cli::{ScriptArgs, run_cli};
pub use error::{Pos, ScriptError};
pub use parser::parse;
pub use runner::{Failure, Report, RunSettings, run};
