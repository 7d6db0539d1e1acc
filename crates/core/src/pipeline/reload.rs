//! Rules changed while a session runs: the new rules take effect first, then the queue is
//! re-bound on a control channel (new bindings before old ones go), so the consumer and its
//! queue are never interrupted. Changed broker settings end the session instead.

use super::session::{Active, Runner};
use super::PipelineEvent;
use crate::bus::topology;
use crate::error::BusError;

impl Runner {
    /// Takes a changed config into the running session. Returns `false` when the
    /// connection itself changed and must reconnect.
    pub(super) async fn reload(
        &self,
        conn: &lapin::Connection,
        active: &mut Active,
        plan: &mut topology::Plan,
        own_exchanges: bool,
    ) -> Result<bool, BusError> {
        let next = match self.active() {
            Ok(a) => a,
            Err(error) => {
                tracing::error!(connection = %self.connection, %error, "new rules not applied");
                self.emit(PipelineEvent::ReloadFailed {
                    connection: self.connection.clone(),
                    error,
                });
                return Ok(true);
            }
        };
        if next.conn != active.conn {
            tracing::info!(connection = %self.connection, "broker settings changed; reconnecting");
            return Ok(false);
        }
        let rules = next.cfg.rules_for(&self.connection);
        let new_plan = topology::plan(&next.conn, &rules, next.cfg.unmatched(), own_exchanges);
        // The new rules first: a message the old bindings still deliver is judged by what the
        // user wants now, and nothing the new rules want can arrive before they apply.
        *active = next;
        if new_plan != *plan {
            // A separate channel: a refused binding closes its channel, and the consumer's
            // channel (with its auto-delete queue) must survive that.
            let control = conn
                .create_channel()
                .await
                .map_err(|source| BusError::Channel {
                    op: "channel.open",
                    source,
                })?;
            topology::rebind(&control, plan, &new_plan).await?;
            let _ = control.close(200, "rebound".into()).await;
            for note in &new_plan.notes {
                tracing::info!(connection = %self.connection, "{note}");
            }
            *plan = new_plan;
        }
        tracing::info!(connection = %self.connection, rules = rules.len(), bindings = plan.bindings.len(), "rules reloaded");
        self.emit(PipelineEvent::Bound {
            connection: self.connection.clone(),
            rules: rules.len(),
            bindings: plan.bindings.len(),
            server_side_headers: own_exchanges,
        });
        Ok(true)
    }
}
