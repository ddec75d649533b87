//! `operator init`: unseal key shares under Shamir, recovery key shares under an auto seal
//! (awskms, pkcs11), printed as Vault's CLI prints them; `-status` answers by exit code.

use super::args::InitArgs;
use super::client::{Client, ClientError};
use super::output::{self, Format};
use serde_json::{json, Value};

pub fn run(client: &Client, a: InitArgs, format: Format) -> Result<i32, ClientError> {
    if a.status {
        return status(client, format);
    }
    // Both pairs go out, as Vault's CLI sends them: a Shamir server ignores the recovery pair,
    // an auto-sealed one the unseal pair (its key is the seal's).
    let body = json!({
        "secret_shares": a.key_shares,
        "secret_threshold": a.key_threshold,
        "recovery_shares": a.recovery_shares,
        "recovery_threshold": a.recovery_threshold,
    });
    let reply = client.write("sys/init", &body)?;
    let b = &reply.body;
    let unseal = strings(&b["keys_base64"]);
    let recovery = strings(&b["recovery_keys_base64"]);
    if format == Format::Json {
        // With no unseal keys the seal keeps the one key: Vault reports one share of one.
        let (shares, threshold) = if unseal.is_empty() {
            (1, 1)
        } else {
            (a.key_shares, a.key_threshold)
        };
        let (r_shares, r_threshold) = if recovery.is_empty() {
            (0, 0)
        } else {
            (a.recovery_shares, a.recovery_threshold)
        };
        output::json(&json!({
            "unseal_keys_b64": unseal,
            "unseal_keys_hex": strings(&b["keys"]),
            "unseal_shares": shares,
            "unseal_threshold": threshold,
            "recovery_keys_b64": recovery,
            "recovery_keys_hex": strings(&b["recovery_keys"]),
            "recovery_keys_shares": r_shares,
            "recovery_keys_threshold": r_threshold,
            "root_token": b["root_token"],
        }));
        return Ok(0);
    }
    for (i, k) in unseal.iter().enumerate() {
        println!("Unseal Key {}: {k}", i + 1);
    }
    for (i, k) in recovery.iter().enumerate() {
        println!("Recovery Key {}: {k}", i + 1);
    }
    println!(
        "\nInitial Root Token: {}\n",
        b["root_token"].as_str().unwrap_or_default()
    );
    if unseal.is_empty() {
        println!("Success! Coffer is initialized");
    } else {
        println!(
            "Coffer initialized with {} key shares and a key threshold of {}. Please securely \
             distribute the key shares printed above. When Coffer is re-sealed, restarted, or \
             stopped, you must supply at least {} of these keys to unseal it.",
            a.key_shares, a.key_threshold, a.key_threshold
        );
    }
    if !recovery.is_empty() {
        println!(
            "\nRecovery key initialized with {} key shares and a key threshold of {}. Please \
             securely distribute the key shares printed above.",
            a.recovery_shares, a.recovery_threshold
        );
    }
    Ok(0)
}

/// Exit 0 when initialised, 2 when not, 1 when the server cannot be asked (2 means "not
/// initialised" here, as in Vault).
fn status(client: &Client, format: Format) -> Result<i32, ClientError> {
    let initialized = match client.read("sys/init") {
        Ok(r) => r.body["initialized"] == true,
        Err(e) => {
            eprintln!("Error checking init status: {e}");
            return Ok(1);
        }
    };
    if format == Format::Json {
        output::json(&json!({ "initialized": initialized }));
    } else if initialized {
        println!("Coffer is initialized");
    } else {
        println!("Coffer is not initialized");
    }
    Ok(if initialized { 0 } else { 2 })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}
