//! The agent's loop: log in (or renew), write the token sinks, render every template, then
//! wait — the render interval, or less when a leased secret would expire first — ticking each
//! second so the token is renewed and the sinks follow it. A failure (Coffer sealed,
//! unreachable, the token revoked and the login refused) is logged without secrets and retried
//! with exponential backoff; `exit_after_auth` returns after the first full success.

use super::config::{AgentConfig, TemplateStanza};
use super::error::AgentError;
use super::kv_path::{kv2_mount, shim};
use super::render::{run_command, write_atomic};
use super::template::{Compiled, Fetched, Rendered, SecretCall};
use crate::plugin_client::Session;
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::time::Instant;

/// The first and the longest wait after a failure.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often the token is checked for renewal between renders.
const TICK: Duration = Duration::from_secs(1);
/// Render passes before a template that keeps asking for new secrets is an error.
const MAX_PASSES: usize = 16;

pub struct Agent {
    config: AgentConfig,
    session: Session,
    templates: Vec<(TemplateStanza, Compiled)>,
    /// The token last written to the sinks.
    sunk: Option<String>,
}

impl Agent {
    /// Parse every template up front: a template error stops the agent before it logs in.
    pub fn new(config: AgentConfig, session: Session) -> Result<Self, AgentError> {
        let templates = config
            .templates
            .iter()
            .map(|t| {
                Ok((
                    t.clone(),
                    Compiled::new(&t.name, &t.text, t.error_on_missing_key)?,
                ))
            })
            .collect::<Result<_, AgentError>>()?;
        Ok(Agent {
            config,
            session,
            templates,
            sunk: None,
        })
    }

    /// Run until `exit_after_auth` is satisfied (then `Ok`); otherwise forever.
    pub async fn run(mut self) -> Result<(), AgentError> {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.cycle().await {
                Ok(wait) => {
                    backoff = BACKOFF_MIN;
                    if self.config.exit_after_auth {
                        tracing::info!("exit_after_auth: rendered, exiting");
                        return Ok(());
                    }
                    self.idle(wait).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "agent cycle failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Wait `wait`, keeping the token renewed and the sinks current.
    async fn idle(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            tokio::time::sleep(TICK.min(until - Instant::now())).await;
            if let Err(e) = self.sync_token().await {
                tracing::warn!(error = %e, "token renewal failed");
            }
        }
    }

    /// One login-and-render round; how long until the next.
    async fn cycle(&mut self) -> Result<Duration, AgentError> {
        self.sync_token().await?;
        let mut wait = self.config.render_interval;
        let mut failed = None;
        // Each template on its own: one that cannot render does not hold the others back.
        for i in 0..self.templates.len() {
            match self.render_and_run(i).await {
                // Re-read a leased secret once two thirds of its lease have passed.
                Ok(Some(lease)) => wait = wait.min((lease * 2 / 3).max(Duration::from_secs(1))),
                Ok(None) => {}
                Err(e) => {
                    let name = &self.templates[i].0.name;
                    tracing::warn!(template = %name, error = %e, "template not rendered");
                    failed.get_or_insert(e);
                }
            }
        }
        // A call refused with 403 logged in again: the sinks get the new token.
        self.sync_token().await?;
        failed.map_or(Ok(wait), Err)
    }

    /// Render template `i`, and run its command when its file changed; its shortest lease.
    async fn render_and_run(&self, i: usize) -> Result<Option<Duration>, AgentError> {
        let (lease, changed) = self.render_one(i).await?;
        let (stanza, _) = &self.templates[i];
        if changed {
            tracing::info!(destination = %stanza.destination.display(), "template rendered");
            if let Some(command) = &stanza.command {
                run_command(&stanza.name, command).await?;
            }
        }
        Ok(lease)
    }

    /// The session's token (renewed when due, a fresh login when there is none) to the sinks.
    async fn sync_token(&mut self) -> Result<(), AgentError> {
        let token = self
            .session
            .token()
            .await
            .map_err(|source| AgentError::Coffer {
                path: "auto_auth".into(),
                source,
            })?;
        if self.sunk.as_deref() == Some(token.as_str()) {
            return Ok(());
        }
        for sink in &self.config.sinks {
            write_atomic(&sink.path, token.as_bytes(), sink.mode)?;
        }
        if self.sunk.is_none() {
            tracing::info!(sinks = self.config.sinks.len(), "authenticated");
        } else {
            tracing::info!("token replaced after a new login");
        }
        self.sunk = Some(token);
        Ok(())
    }

    /// Render template `i` (fetching what it asks for); the shortest lease among its secrets,
    /// and whether its file changed.
    async fn render_one(&self, i: usize) -> Result<(Option<Duration>, bool), AgentError> {
        let (stanza, compiled) = &self.templates[i];
        let mut fetched = Fetched::new();
        for _ in 0..MAX_PASSES {
            match compiled.render(&fetched)? {
                Rendered::Done(text) => {
                    let lease = shortest_lease(&fetched);
                    let changed = write_atomic(&stanza.destination, text.as_bytes(), stanza.perms)?;
                    return Ok((lease, changed));
                }
                Rendered::Needs(calls) => {
                    for call in calls {
                        let body = self.fetch(&call).await?;
                        fetched.insert(call, body);
                    }
                }
            }
        }
        Err(AgentError::Template {
            name: stanza.name.clone(),
            message: format!("still asking for new secrets after {MAX_PASSES} passes"),
        })
    }

    /// A read, or a write when the call has parameters.
    async fn fetch(&self, call: &SecretCall) -> Result<Value, AgentError> {
        let result = if call.params.is_empty() {
            let path = self.read_path(&call.path).await;
            self.session.call("GET", &path, None).await
        } else {
            let body: Map<String, Value> = call
                .params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            self.session
                .call("POST", &call.path, Some(&Value::Object(body)))
                .await
        };
        result.map_err(|source| AgentError::Coffer {
            path: call.path.clone(),
            source,
        })
    }

    /// Where a read of `raw` goes: on a KV v2 mount, with `data/` inserted as consul-template
    /// does. The mount is asked of `sys/internal/ui/mounts/<raw>` with the current token, but
    /// outside the session's 403 handling: a token that may not see the mount is not replaced,
    /// the path is read as written.
    async fn read_path(&self, raw: &str) -> String {
        let Ok(token) = self.session.token().await else {
            return raw.to_string();
        };
        let lookup = format!("sys/internal/ui/mounts/{raw}");
        match self
            .session
            .endpoint()
            .call("GET", &lookup, Some(&token), None)
            .await
        {
            Ok(answer) => kv2_mount(&answer).map_or_else(|| raw.to_string(), |m| shim(raw, &m)),
            Err(_) => raw.to_string(),
        }
    }
}

fn shortest_lease(fetched: &Fetched) -> Option<Duration> {
    fetched
        .values()
        .filter_map(|b| b["lease_duration"].as_u64())
        .filter(|s| *s > 0)
        .min()
        .map(Duration::from_secs)
}
