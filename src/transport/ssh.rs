// TEMPORARY placeholder of the lead while helper-1 writes the real SSH transport; it will be overwritten.
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use super::{Connection, Output, Script, TransportError};

#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub common_args: Vec<String>,
    pub host_key_checking: bool,
    pub connect_timeout: Duration,
}

pub struct SshConnection {
    host: String,
}

impl SshConnection {
    pub async fn connect(
        host: &str,
        _options: &SshOptions,
    ) -> Result<SshConnection, TransportError> {
        Err(TransportError::Connect {
            host: host.to_owned(),
            reason: "placeholder".into(),
        })
    }
}

#[async_trait]
impl Connection for SshConnection {
    fn host(&self) -> &str {
        &self.host
    }
    async fn run(&self, _script: &Script) -> Result<Output, TransportError> {
        Err(TransportError::Lost {
            host: self.host.clone(),
            reason: "placeholder".into(),
        })
    }
}
