//! `netlab-stack-adapter`: netlab's own TCP/IP stack behind the external stack protocol
//! (docs/stack-protocol.md), on standard input and output. Exit status 0 at the end of input, 1
//! after an error (also reported to netlab as FAIL where possible, and on standard error).

use std::process::ExitCode;

fn main() -> ExitCode {
    match netlab::stack::adapter::serve(std::io::stdin().lock(), std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netlab-stack-adapter: {e}");
            ExitCode::from(1)
        }
    }
}
