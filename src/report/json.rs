//! `--output json`: one JSON object a line on standard output for every event.

use super::{Event, Reporter, Sink};

pub struct JsonLines {
    sink: Sink,
}

impl JsonLines {
    pub fn new(sink: Sink) -> Self {
        Self { sink }
    }
}

impl Reporter for JsonLines {
    fn emit(&self, event: &Event) {
        if event.display_only() {
            return;
        }
        if let Ok(mut line) = serde_json::to_string(event) {
            line.push('\n');
            self.sink.write(&line);
        }
    }
}
