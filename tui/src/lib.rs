//! The netlab connection-state viewer (ratatui). Filled in by the viewer issue.
