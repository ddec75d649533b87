//! `coffer server`: load the config (or build the `-dev` one), start the node, wait for a signal.

use super::args::ServerArgs;
use crate::config::{ListenerConfig, ServerConfig, StorageConfig};

fn dev_config(a: &ServerArgs) -> ServerConfig {
    ServerConfig {
        storage: StorageConfig::Inmem,
        listeners: vec![ListenerConfig {
            address: a.dev_listen_address.clone(),
            tls_disable: true,
            ..ListenerConfig::default()
        }],
        api_addr: Some(format!("http://{}", a.dev_listen_address)),
        ui: true,
        ..ServerConfig::default()
    }
}

fn init_logging(config: &ServerConfig, override_level: Option<&str>) {
    let level = override_level.unwrap_or(&config.log_level).to_string();
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{level},openraft=warn"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Run the server until SIGINT/SIGTERM.
pub fn run(a: ServerArgs) -> i32 {
    if a.dev_three_node {
        return run_three_nodes(a);
    }
    let config = if a.dev {
        dev_config(&a)
    } else {
        let Some(path) = &a.config else {
            eprintln!("Error: a config file is required (-config=FILE), or use -dev");
            return 1;
        };
        match ServerConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("Error loading configuration from {}: {e}", path.display());
                return 1;
            }
        }
    };
    if a.check {
        println!("Configuration is valid.");
        return 0;
    }
    init_logging(&config, a.log_level.as_deref());
    let Some(runtime) = runtime() else {
        return 1;
    };
    runtime.block_on(serve(config, a))
}

async fn serve(config: ServerConfig, a: ServerArgs) -> i32 {
    let handle = match crate::server::start(config, crate::server::StorageHandle::FromConfig).await
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("Error starting server: {e}");
            return 1;
        }
    };
    let addrs: Vec<String> = handle
        .listeners
        .iter()
        .map(|l| l.local_addr.to_string())
        .collect();
    println!("==> Coffer server started! Log data will stream in below:\n");
    println!("{:>20}: {}", "Version", super::version_line());
    println!("{:>20}: {}", "Storage", handle.core.storage.storage_type);
    println!("{:>20}: {}", "Listeners", addrs.join(", "));
    if a.dev {
        match crate::server::dev_setup(&handle.core, a.dev_root_token_id.as_deref()).await {
            Ok(info) => {
                println!(
                    "\nWARNING! dev mode is enabled! In this mode, Coffer runs entirely in-memory"
                );
                println!("and starts unsealed with a single unseal key.\n");
                println!(
                    "    $ export VAULT_ADDR='http://{}'\n",
                    addrs.first().cloned().unwrap_or_default()
                );
                println!("Unseal Key: {}", info.unseal_key);
                println!("Root Token: {}\n", info.root_token);
            }
            Err(e) => {
                eprintln!("Error setting up dev mode: {e}");
                return 1;
            }
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    println!("==> Coffer shutdown triggered");
    handle.shutdown().await;
    0
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `server -dev-three-node`: a three-node dev cluster in this process.
fn run_three_nodes(a: ServerArgs) -> i32 {
    let base_port = a
        .dev_listen_address
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(8200);
    init_logging(&ServerConfig::default(), a.log_level.as_deref());
    let Some(runtime) = runtime() else {
        return 1;
    };
    runtime.block_on(async move {
        let (nodes, info) =
            match crate::server::dev_three_node(base_port, a.dev_root_token_id.as_deref()).await {
                Ok(started) => started,
                Err(e) => {
                    eprintln!("Error starting the dev cluster: {e}");
                    return 1;
                }
            };
        println!("==> Coffer three-node dev cluster started (in memory, unsealed)\n");
        for (i, n) in nodes.iter().enumerate() {
            let role = if n.core.is_active() {
                "active"
            } else {
                "standby"
            };
            println!(
                "    node {}: {}  (cluster {})  {role}",
                i + 1,
                n.core.config.api_addr.clone().unwrap_or_default(),
                n.core.config.cluster_addr.clone().unwrap_or_default()
            );
        }
        println!("\nUnseal Key: {}", info.unseal_key);
        println!("Root Token: {}\n", info.root_token);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        for n in nodes {
            n.shutdown().await;
        }
        0
    })
}

/// The multi-threaded runtime a server runs on (an error is printed, `None` returned).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            None
        }
    }
}
