//! `operator rekey` and `operator generate-root`: the key ceremonies, with Vault's sub-flags.
//! With an auto seal the shares are the recovery key's: `rekey -target=recovery` replaces them
//! (`sys/rekey-recovery-key/*`) and generate-root takes them.

use super::args::{GenerateRootArgs, RekeyArgs};
use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use serde_json::{json, Value};

/// The key share to send and the nonce to send it with, as Vault's CLI finds them: the
/// positional key (nonce from `-nonce`), `-` for stdin (nonce from `-nonce`), or, with no key,
/// a line read from the terminal (nonce from the operation's status).
fn share_and_nonce(
    key: Option<String>,
    nonce_flag: Option<String>,
    status_nonce: &str,
) -> Result<(String, String), ClientError> {
    let (key, nonce) = match key.as_deref() {
        Some("-") => (read_stdin(false)?, nonce_flag),
        Some(k) => (k.to_string(), nonce_flag),
        None => {
            eprintln!("Operation nonce: {status_nonce}");
            eprint!("Unseal Key (will be echoed): ");
            (read_stdin(true)?, Some(status_nonce.to_string()))
        }
    };
    let nonce = nonce.filter(|n| !n.is_empty()).ok_or_else(|| {
        ClientError::Usage("Missing nonce value: specify it via the -nonce flag".into())
    })?;
    Ok((key.trim().to_string(), nonce))
}

fn read_stdin(one_line: bool) -> Result<String, ClientError> {
    let mut s = String::new();
    let read = if one_line {
        std::io::stdin().read_line(&mut s).map(|_| ())
    } else {
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| ())
    };
    read.map_err(|e| ClientError::Usage(format!("Failed to read from stdin: {e}")))?;
    Ok(s)
}

/// Print a status as a `Key  Value` table of `(label, field)` rows, or the body as JSON.
fn show(format: Format, body: &Value, rows: &[(&str, String)]) {
    if format == Format::Json {
        return output::json(body);
    }
    let rows: Vec<(String, String)> = rows
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    output::table(&rows, ("Key", "Value"));
}

// ---- rekey ----

/// The API paths of a rekey target.
struct RekeyPaths {
    init: &'static str,
    update: &'static str,
    verify: &'static str,
    /// `Key` for the unseal key, `Recovery Key` for the recovery key, in printed lines.
    label: &'static str,
}

fn rekey_paths(target: &str) -> Result<RekeyPaths, ClientError> {
    match target.trim().to_ascii_lowercase().as_str() {
        "barrier" => Ok(RekeyPaths {
            init: "sys/rekey/init",
            update: "sys/rekey/update",
            verify: "sys/rekey/verify",
            label: "Key",
        }),
        "recovery" | "hsm" => Ok(RekeyPaths {
            init: "sys/rekey-recovery-key/init",
            update: "sys/rekey-recovery-key/update",
            verify: "sys/rekey-recovery-key/verify",
            label: "Recovery Key",
        }),
        other => Err(ClientError::Usage(format!("Unknown target: {other}"))),
    }
}

pub fn rekey(client: &Client, a: RekeyArgs, format: Format) -> Result<i32, ClientError> {
    let paths = rekey_paths(&a.target)?;
    let status_path = if a.verify { paths.verify } else { paths.init };
    if a.cancel {
        client.delete(status_path)?;
        println!("Success! Canceled rekeying (if it was started)");
        return Ok(0);
    }
    if a.init {
        let body = json!({ "secret_shares": a.key_shares, "secret_threshold": a.key_threshold,
                           "require_verification": a.verify });
        let reply = client.write(paths.init, &body)?;
        if format == Format::Table {
            eprintln!(
                "WARNING! If you lose the keys after they are returned, there is no recovery.\n"
            );
        }
        rekey_status(format, &reply.body, false);
        return Ok(0);
    }
    let status = client.read(status_path)?;
    if a.status {
        rekey_status(format, &status.body, a.verify);
        return Ok(0);
    }
    if status.body["started"] != true {
        eprintln!(
            "No rekey is in progress. Start a rekey process by running \"coffer operator rekey -init\"."
        );
        return Ok(1);
    }
    let nonce = status.body["nonce"].as_str().unwrap_or_default();
    let (key, nonce) = share_and_nonce(a.key, a.nonce, nonce)?;
    let path = if a.verify { paths.verify } else { paths.update };
    let reply = client.write(path, &json!({ "key": key, "nonce": nonce }))?;
    if reply.body["complete"] != true {
        let status = client.read(status_path)?;
        rekey_status(format, &status.body, a.verify);
        return Ok(0);
    }
    if a.verify {
        println!("Success! Rekey verification successful.");
        return Ok(0);
    }
    if format == Format::Json {
        output::json(&reply.body);
        return Ok(0);
    }
    let b = &reply.body;
    println!();
    for (i, k) in b["keys_base64"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        println!("{} {}: {}", paths.label, i + 1, cell(k));
    }
    println!("\nOperation nonce: {}", cell(&b["nonce"]));
    let (n, t) = (cell(&status.body["n"]), cell(&status.body["t"]));
    if b["verification_required"] == true {
        println!(
            "\nCoffer has created a new key, split into {n} key shares and a key threshold of \
             {t}. These will not be active until after verification is complete."
        );
        let status = client.read(paths.verify)?;
        rekey_status(format, &status.body, true);
    } else {
        println!("\nCoffer rekeyed with {n} key shares and a key threshold of {t}.");
    }
    Ok(0)
}

fn rekey_status(format: Format, body: &Value, verification: bool) {
    let mut rows = vec![
        ("Nonce", cell(&body["nonce"])),
        ("Started", cell(&body["started"])),
    ];
    if verification {
        rows.push(("New Shares", cell(&body["n"])));
        rows.push(("New Threshold", cell(&body["t"])));
        rows.push((
            "Verification Progress",
            format!("{}/{}", cell(&body["progress"]), cell(&body["t"])),
        ));
    } else if body["started"] == true {
        rows.push((
            "Rekey Progress",
            format!("{}/{}", cell(&body["progress"]), cell(&body["required"])),
        ));
        rows.push(("New Shares", cell(&body["n"])));
        rows.push(("New Threshold", cell(&body["t"])));
        rows.push((
            "Verification Required",
            cell(&body["verification_required"]),
        ));
    }
    show(format, body, &rows);
}

// ---- generate-root ----

pub fn generate_root(
    client: &Client,
    a: GenerateRootArgs,
    format: Format,
) -> Result<i32, ClientError> {
    const ATTEMPT: &str = "sys/generate-root/attempt";
    if a.generate_otp {
        let otp = coffer_seal::rng::random_base62(coffer_seal::generate_root::OTP_LENGTH);
        if format == Format::Json {
            output::json(&json!({ "otp": otp, "otp_length": otp.len() }));
        } else {
            println!("{otp}");
        }
        return Ok(0);
    }
    if let Some(encoded) = a.decode {
        let otp = a
            .otp
            .filter(|o| !o.is_empty())
            .ok_or_else(|| ClientError::Usage("Missing otp: use -otp to supply it".into()))?;
        let token = coffer_seal::decode_token(&encoded, &otp)
            .map_err(|e| ClientError::Usage(format!("Error decoding the token: {e}")))?;
        if format == Format::Json {
            output::json(&json!({ "token": token }));
        } else {
            println!("{token}");
        }
        return Ok(0);
    }
    if a.cancel {
        client.delete(ATTEMPT)?;
        println!("Success! Root token generation canceled (if it was started)");
        return Ok(0);
    }
    let reply = if a.init {
        let body = match a.otp {
            Some(otp) => json!({ "otp": otp }),
            None => json!({}),
        };
        client.write(ATTEMPT, &body)?
    } else {
        let status = client.read(ATTEMPT)?;
        if a.status {
            status
        } else {
            if status.body["started"] != true {
                eprintln!(
                    "No root generation is in progress. Start a root generation by running \
                     \"coffer operator generate-root -init\"."
                );
                return Ok(1);
            }
            let nonce = status.body["nonce"].as_str().unwrap_or_default();
            let (key, nonce) = share_and_nonce(a.key, a.nonce, nonce)?;
            client.write(
                "sys/generate-root/update",
                &json!({ "key": key, "nonce": nonce }),
            )?
        }
    };
    generate_root_status(format, &reply.body);
    Ok(0)
}

fn generate_root_status(format: Format, body: &Value) {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    let mut rows = vec![
        ("Nonce", text("nonce")),
        ("Started", cell(&body["started"])),
        (
            "Progress",
            format!("{}/{}", cell(&body["progress"]), cell(&body["required"])),
        ),
        ("Complete", cell(&body["complete"])),
    ];
    if !text("encoded_token").is_empty() {
        rows.push(("Encoded Token", text("encoded_token")));
    }
    if !text("otp").is_empty() {
        if format == Format::Table {
            eprintln!(
                "A One-Time-Password has been generated for you and is shown in the OTP field. \
                 You will need this value to decode the resulting root token, so keep it safe."
            );
        }
        rows.push(("OTP", text("otp")));
    }
    if body["otp_length"].as_u64().is_some_and(|n| n > 0) {
        rows.push(("OTP Length", cell(&body["otp_length"])));
    }
    show(format, body, &rows);
}
