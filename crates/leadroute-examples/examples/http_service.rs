//! The server-side route of a marketing form as a public HTTP endpoint
//! (see `leadroute_examples::service` for the routes, limits and errors,
//! and the crate README for the environment variables).
//!
//! ```text
//! cargo run -p leadroute-examples --example http_service   # listens on 127.0.0.1:3000
//! curl -s localhost:3000/leads -H 'content-type: application/json' \
//!     -d '{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}'
//! curl -s localhost:3000/leads --data-urlencode email=cto@bigco.com -d country=US -d company_size=1000+
//! ```
//!
//! The CRM here is the in-memory one from `leadroute::testing` (swap in the
//! `leadroute-hubspot` or `leadroute-salesforce` adapter). Ctrl-C or
//! SIGTERM stops accepting connections and finishes the routes in flight.

use std::sync::Arc;

use leadroute::testing::InMemoryCrm;
use leadroute_examples::service::{self, Service, ServiceConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ServiceConfig::from_env()?;
    service::init_tracing(config.json_logs);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "leadroute demo service listening");
    let header_timeout = config.header_timeout;
    let service = Arc::new(Service::new(InMemoryCrm::new(), config)?);
    service::serve(
        listener,
        service::app(service),
        header_timeout,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (what container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
