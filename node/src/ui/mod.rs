//! The web UI: a small hand-written client app (one HTML shell, ES modules, one stylesheet in
//! `assets/`) compiled into the binary, served at `/ui/` when the config says `ui = true` (and in
//! `-dev`); `/` redirects there, as Vault's does. Nothing is fetched at run time from anywhere
//! but this node: the app calls only the public `/v1` API with the user's token (kept in the
//! tab's `sessionStorage`, sent as `X-Vault-Token`), so ACL, audit and forwarding apply to it
//! exactly as to the CLI.
//!
//! Every answer carries a strict policy: CSP `default-src 'self'` with no inline script or style,
//! framing refused, nothing cached (pages show secrets), no MIME sniffing, no referrer.
//!
//! This module knows HTTP types only; it never imports the server's modules.

use axum::body::Body;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use http::{header, HeaderValue, StatusCode};

/// The Content-Security-Policy of every UI answer.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file: its name under `/ui/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("pages/session.js", JS),
    asset!("pages/secrets.js", JS),
    asset!("pages/kv.js", JS),
    asset!("pages/kv_versions.js", JS),
    asset!("pages/access.js", JS),
    asset!("pages/policies.js", JS),
    asset!("pages/status.js", JS),
];

/// `router` with the UI's routes added: `/` (redirect), `/ui`, `/ui/` and `/ui/<file>`.
pub fn routes<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    router
        .route("/", get(redirect))
        .route("/ui", get(redirect))
        .route("/ui/", get(index))
        .route("/ui/{*file}", get(file))
}

async fn redirect() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/ui/"));
    harden(resp)
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

/// The named asset, or a plain 404 (the app routes by `#fragment`, so no other path is a page).
fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let mut resp = Response::new(Body::from("not found"));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return harden(resp);
    };
    let mut resp = Response::new(Body::from(asset.bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    harden(resp)
}

/// The security headers every UI answer carries.
fn harden(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_named_once_and_nonempty() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.bytes.is_empty(), "{} is empty", a.name);
            assert!(
                ASSETS[..i].iter().all(|b| b.name != a.name),
                "{} twice",
                a.name
            );
        }
    }

    #[test]
    fn html_has_no_inline_script_or_style() {
        let html = std::str::from_utf8(ASSETS[0].bytes).expect("utf-8");
        assert!(
            !html.contains("<style"),
            "inline <style> would break the CSP"
        );
        assert!(
            !html.contains("style="),
            "inline style attributes break the CSP"
        );
        assert!(!html.contains("onclick") && !html.contains("onload"));
        for script in html.split("<script").skip(1) {
            assert!(script.trim_start().starts_with("type=\"module\" src="));
        }
    }

    #[test]
    fn assets_are_served_with_their_type_and_headers() {
        let resp = serve("app.js");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], JS);
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(serve("../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }
}
