//! The node's side of the operators' view: its facts, the view handed to a renderer, and
//! the HTTP requests it answers.

#[allow(unused_imports)]
use super::*;

impl<S: Service> Node<S> {
    /// The replication side of the server view: role, epochs, zxids, links, leader stats.
    pub fn facts(&self, now: Instant) -> NodeFacts {
        let st = &self.activity;
        let leader_stats = match st {
            Activity::Leading(l) => {
                let synced = l.synced_learners();
                let voters = synced
                    .iter()
                    .filter(|id| self.quorum.is_voter(**id))
                    .count();
                Some(LeaderStats {
                    learners: l.learner_count(),
                    synced_followers: voters,
                    synced_non_voting_followers: 0,
                    synced_observers: synced.len() - voters,
                    pending_syncs: self.syncs_waiting.len(),
                    uptime_ms: self.leading_since.map_or(0, |t| now.millis_since(t)),
                    proposal_sizes: self.metrics.proposal_sizes,
                })
            }
            _ => None,
        };
        NodeFacts {
            my_id: self.my_id,
            role: self.role,
            standalone: self.config.is_standalone(),
            leader: match st {
                Activity::Leading(_) => Some(self.my_id),
                Activity::Learning(l) => Some(l.leader()),
                _ => None,
            },
            synced: self.serving(),
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_logged: self.log.last_logged(),
            last_committed: self.log.last_committed(),
            last_applied: self.log.last_applied(),
            round: self.election.round(),
            peers_up: self.transport.up_peers().len(),
            voters: self.quorum.voters().len().max(1),
            uptime_ms: now.millis_since(self.started),
            leader_stats,
        }
    }

    /// Builds the server view (node facts, metrics, configuration, then the service's part)
    /// and hands it to `f`: what the four-letter words, `/commands` and `/metrics` render.
    pub fn with_view(&self, now: Instant, f: &mut dyn FnMut(&ServerView<'_>)) {
        let node = self.facts(now);
        let conf = crate::observe::conf_lines(&self.config);
        let membership = crate::observe::membership(&self.config);
        let base = ServerView {
            version: crate::observe::ZOOKEEPER_VERSION,
            serving: node.synced,
            role: node.view_role(),
            node,
            metrics: self.metrics.clone(),
            config: Some(&self.config),
            last_zxid: node.last_applied.0,
            uptime_ms: node.uptime_ms,
            election_time: self.metrics.election_time_ms,
            conf: &conf,
            membership: membership.as_deref(),
            trace_mask: self.trace_mask,
            ..ServerView::default()
        };
        self.sm.view(base, f);
    }

    /// Bytes of an HTTP request: once its head is complete, answer and close.
    pub(super) fn on_http_bytes(&mut self, now: Instant, conn: u64, bytes: &[u8]) {
        let Some((endpoint, buf)) = self.http.get_mut(&conn) else {
            return;
        };
        // Bounded: the parser answers 431 once the buffer reaches its limit.
        let room = http::MAX_REQUEST_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let (route, head_only) = match http::parse(*endpoint, buf) {
            Parsed::Partial => return,
            Parsed::Done(route, head_only) => (route, head_only),
        };
        self.http.remove(&conn);
        let mut answer = match route {
            http::HttpRoute::Fixed(a) => a,
            http::HttpRoute::Metrics => {
                let mut body = String::new();
                self.with_view(now, &mut |v| body = crate::observe::prometheus::render(v));
                http::Answer {
                    status: "200 OK",
                    content_type: http::PROMETHEUS_CONTENT_TYPE,
                    body,
                    head_only: false,
                }
            }
            http::HttpRoute::Admin(name) => {
                let mut body = None;
                self.with_view(now, &mut |v| body = crate::observe::admin::render(&name, v));
                match body {
                    Some(body) => http::Answer {
                        status: "200 OK",
                        content_type: "application/json",
                        body,
                        head_only: false,
                    },
                    None => http::Answer {
                        status: "404 Not Found",
                        content_type: "application/json",
                        body: format!(
                            "{{\"command\":{},\"error\":\"Unknown command\"}}",
                            serde_json::Value::from(name.as_str())
                        ),
                        head_only: false,
                    },
                }
            }
        };
        answer.head_only |= head_only;
        let bytes = answer.encode();
        self.metrics.client_bytes_sent += bytes.len() as u64;
        self.out.push_back(Output::SendClient { conn, bytes });
        self.out.push_back(Output::CloseClient { conn });
    }
}
