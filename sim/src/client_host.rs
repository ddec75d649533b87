//! A client on its own simulated host: it reaches nodes through their HTTP listeners over the
//! simulated network, so partitions, packet loss and latency between clients and nodes are
//! faults too, and a node killed mid-request drops the connection as a real one would.

use crate::node::{Reply, SimNode};
use coffer_node::api_client::{call_json, ApiCall};
use madsim::runtime::{Handle, NodeHandle};
use serde_json::Value;
use std::net::IpAddr;

/// A simulated client host.
pub struct ClientHost {
    handle: NodeHandle,
}

impl ClientHost {
    /// Create the host `name` at `ip`.
    pub fn start(name: &str, ip: IpAddr) -> ClientHost {
        let handle = Handle::current().create_node().name(name).ip(ip).build();
        ClientHost { handle }
    }

    /// Send one API call from this host to `node`'s listener. A refused or dropped connection
    /// answers status 0.
    pub async fn call(
        &self,
        node: &SimNode,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let addr = format!("http://{}", node.api_addr());
        let (method, path) = (method.to_string(), format!("/v1/{path}"));
        let token = token.map(str::to_string);
        let sent = self.handle.spawn(async move {
            let call = ApiCall {
                method: &method,
                uri_path: &path,
                token: token.as_deref(),
                bearer: None,
                body: body.as_ref(),
            };
            call_json(&addr, call, None).await
        });
        match sent.await {
            Ok(Ok((status, body))) => Reply { status, body },
            _ => Reply {
                status: 0,
                body: Value::Null,
            },
        }
    }
}
