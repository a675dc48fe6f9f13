//! Packet scripts in packetdrill's syntax (issue 12): a script is the remote peer of one stack under
//! test. It makes socket calls on the stack, injects segments (`<`) and expects the segments the
//! stack sends (`>`) at given times, with a tolerance, on the simulated clock.
//!
//! - `lexer`, `parser`, `ast`: the accepted grammar (docs/scripts.md);
//! - `error`: positions and parse errors.

pub mod ast;
pub mod error;
pub mod lexer;
pub mod packet;
pub mod parser;

pub use error::{Pos, ScriptError};
pub use parser::parse;
