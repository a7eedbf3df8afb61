//! The HTML pages for citizens: the catalogue with search and facets (`/`, `/datasets`), one
//! page per dataset (`/datasets/{id}`), the gauge map and station pages of a time series
//! (`/datasets/{id}/gauges`, `/datasets/{id}/stations/{station}`), and the SQL console
//! (`/sql`), plus the bundled script and style they use (`/assets/…`).
//!
//! Pages are rendered on the server (maud) and work without JavaScript; the script adds the
//! map, the chart and copy buttons. German is the default language; `Accept-Language` or
//! `?lang=en` switches to English. Every page sends a strict Content-Security-Policy: scripts,
//! styles, workers and fetches from this server only (plus the basemap's tile server when
//! `ALLMENDE_BASEMAP_URL` configures one), so no page makes a third-party request.

mod assets;
mod catalogue;
mod console;
mod dataset;
mod gauges;
mod station;
mod usage;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::error::ApiError;
use crate::state::AppState;

/// The page routes, to merge into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(catalogue::home))
        .route("/datasets", get(catalogue::search))
        .route("/datasets/{id}", get(dataset::page))
        .route("/datasets/{id}/gauges", get(gauges::page))
        .route("/datasets/{id}/stations/{station}", get(station::page))
        .route("/sql", get(console::page))
        .route("/assets/{file}", get(assets::serve))
}

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The text in this language.
    pub fn t<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }

    /// The language of an `Accept-Language` header: the German or English range with the
    /// highest weight; German when neither is acceptable.
    fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("de") => Lang::De,
                Some("en") => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::De, |(_, l)| l)
    }
}

/// What every page needs from its request: the language, whether it was chosen by `?lang=`
/// (then links carry it on), and the path with query for the language switch.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    explicit: bool,
    path: String,
    query: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
        let chosen = query
            .iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.as_str());
        let (lang, explicit) = match chosen {
            Some("en") => (Lang::En, true),
            Some("de") => (Lang::De, true),
            _ => (
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|h| h.to_str().ok())
                    .map_or(Lang::De, Lang::from_accept_language),
                false,
            ),
        };
        Ok(PageCtx {
            lang,
            explicit,
            path: parts.uri.path().to_owned(),
            query: query.into_iter().filter(|(k, _)| k != "lang").collect(),
        })
    }
}

impl PageCtx {
    pub fn t<'a>(&self, de: &'a str, en: &'a str) -> &'a str {
        self.lang.t(de, en)
    }

    /// A link to one of our pages, keeping an explicitly chosen language.
    pub fn href(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = params.to_vec();
        if self.explicit {
            pairs.push(("lang", self.lang.code()));
        }
        with_query(path, &pairs)
    }

    /// A form's hidden `lang` field that keeps an explicitly chosen language (a GET form
    /// drops the query of its action).
    pub fn lang_field(&self) -> Markup {
        html! {
            @if self.explicit { input type="hidden" name="lang" value=(self.lang.code()); }
        }
    }

    /// This page in the other language.
    fn switch(&self) -> String {
        let other = match self.lang {
            Lang::De => "en",
            Lang::En => "de",
        };
        let mut pairs: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("lang", other));
        with_query(&self.path, &pairs)
    }

    /// The value of a query parameter of this request.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// `path?k=v&…`, form-encoded; just `path` without pairs.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// `text` as one path segment: everything but unreserved characters, `:` and `@`
/// percent-encoded (UTF-8).
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `<link rel="alternate">` of a page.
pub struct Alternate {
    pub media_type: &'static str,
    pub href: String,
    pub title: &'static str,
}

impl Alternate {
    pub fn new(media_type: &'static str, href: impl Into<String>, title: &'static str) -> Self {
        Alternate {
            media_type,
            href: href.into(),
            title,
        }
    }
}

/// Content negotiation for programs that ask a page's URL for data: when `Accept` names one
/// of the page's alternate media types and not HTML, a 303 to that form. Browsers always
/// accept `text/html`, so they get the page.
pub fn negotiate(headers: &axum::http::HeaderMap, alternates: &[Alternate]) -> Option<Response> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    let ranges: Vec<(&str, f32)> = accept
        .split(',')
        .map(|r| {
            let mut parts = r.split(';');
            let range = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse().ok())
                .unwrap_or(1.0);
            (range, q)
        })
        .filter(|(_, q)| *q > 0.0)
        .collect();
    if ranges
        .iter()
        .any(|(r, _)| *r == "text/html" || *r == "application/xhtml+xml")
    {
        return None;
    }
    let best = ranges
        .iter()
        .filter_map(|(range, q)| {
            let a = alternates.iter().find(|a| a.media_type == *range)?;
            Some((a, *q))
        })
        .fold(None::<(&Alternate, f32)>, |best, (a, q)| match best {
            Some((_, b)) if b >= q => best,
            _ => Some((a, q)),
        })?;
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, best.0.href.clone())],
    )
        .into_response();
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    Some(response)
}

/// The DCAT alternates of a resource whose DCAT documents are at `{stem}.{ttl,jsonld,rdf}`.
pub fn dcat_alternates(stem: &str) -> [Alternate; 3] {
    [
        Alternate::new("text/turtle", format!("{stem}.ttl"), "DCAT-AP.de (Turtle)"),
        Alternate::new(
            "application/ld+json",
            format!("{stem}.jsonld"),
            "DCAT-AP.de (JSON-LD)",
        ),
        Alternate::new(
            "application/rdf+xml",
            format!("{stem}.rdf"),
            "DCAT-AP.de (RDF/XML)",
        ),
    ]
}

/// The frame of every page: head with alternates, header with navigation and language
/// switch, main content, footer.
pub fn layout(ctx: &PageCtx, title: &str, alternates: &[Alternate], content: Markup) -> Response {
    let nav = [
        (ctx.href("/", &[]), ctx.t("Datensätze", "Datasets"), "/"),
        (
            ctx.href("/sql", &[]),
            ctx.t("SQL-Konsole", "SQL console"),
            "/sql",
        ),
    ];
    let (other_name, other_code) = match ctx.lang {
        Lang::De => ("English", "en"),
        Lang::En => ("Deutsch", "de"),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Allmende" }
                link rel="stylesheet" href=(assets::url("app.css"));
                @for a in alternates {
                    link rel="alternate" type=(a.media_type) href=(a.href) title=(a.title);
                }
                script type="module" src=(assets::url("app.js")) {}
            }
            body {
                a.skip href="#main" { (ctx.t("Zum Inhalt springen", "Skip to content")) }
                header.site {
                    a.brand href=(ctx.href("/", &[])) { "Allmende" }
                    nav aria-label=(ctx.t("Hauptnavigation", "Main navigation")) {
                        ul {
                            @for (href, name, path) in &nav {
                                li {
                                    @if ctx.path == *path {
                                        a href=(href) aria-current="page" { (name) }
                                    } @else {
                                        a href=(href) { (name) }
                                    }
                                }
                            }
                            li { a href=(ctx.switch()) lang=(other_code) hreflang=(other_code) { (other_name) } }
                        }
                    }
                }
                main #main tabindex="-1" { (content) }
                footer.site {
                    p {
                        (ctx.t("Offene Daten, bereitgestellt mit Allmende. Alle Skripte und Stile kommen von diesem Server; keine Anfragen an Dritte.",
                               "Open data, published with Allmende. Every script and style comes from this server; no third-party requests."))
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// An HTML response with the page headers (CSP and friends).
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    // The same URL answers programs with a redirect to data, and speaks two languages.
    response.headers_mut().append(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Language"),
    );
    security_headers(response.headers_mut());
    response
}

/// The Content-Security-Policy and related headers of pages and assets.
pub fn security_headers(headers: &mut axum::http::HeaderMap) {
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Everything from this server only; the basemap's origin for images and fetches when one is
/// configured (the citizen's browser then asks that tile server, by the operator's choice).
fn content_security_policy() -> String {
    let basemap = basemap_origin()
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{basemap}; \
         connect-src 'self'{basemap}; worker-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The raster tile URL template of the optional basemap (`ALLMENDE_BASEMAP_URL`, e.g.
/// `https://tiles.example.org/{z}/{x}/{y}.png`); none by default.
pub fn basemap_url() -> Option<String> {
    std::env::var("ALLMENDE_BASEMAP_URL")
        .ok()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

fn basemap_origin() -> Option<String> {
    let url = basemap_url()?;
    let scheme_end = url.find("://")? + 3;
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    let origin = &url[..host_end];
    // Only what a CSP source expression may hold.
    origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":/.-[]".contains(&b))
        .then(|| origin.to_owned())
}

/// An error as a page (for the page routes: a person, not a program, is reading).
pub fn error_page(ctx: &PageCtx, error: ApiError) -> Response {
    let title = match error.status {
        StatusCode::NOT_FOUND => ctx.t("Nicht gefunden", "Not found"),
        s if s.is_client_error() => ctx.t("Ungültige Anfrage", "Bad request"),
        _ => ctx.t("Fehler", "Error"),
    };
    let mut response = layout(
        ctx,
        title,
        &[],
        html! {
            h1 { (title) }
            p.error role="alert" { (error.description) }
            p { a href=(ctx.href("/", &[])) { (ctx.t("Zur Startseite", "To the home page")) } }
        },
    );
    *response.status_mut() = error.status;
    response
}

/// The language of a dataset's title and description: its first `languages` entry, else German.
pub fn data_lang(m: &allmende_catalog::Manifest) -> &str {
    m.meta.languages.first().map_or("de", String::as_str)
}

/// A cell of a JSON query result as text, and whether it is a number (right-aligned).
pub fn cell(json: &str) -> (String, bool) {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Null) => (String::new(), false),
        Ok(serde_json::Value::String(s)) => (s, false),
        Ok(serde_json::Value::Number(n)) => (n.to_string(), true),
        Ok(other) => (other.to_string(), false),
        Err(_) => (json.to_owned(), false),
    }
}

/// A byte count for people: `1,2 MB` / `1.2 MB`.
pub fn human_bytes(lang: Lang, bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let text = if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    };
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

/// A number with thousands separators in the page language.
pub fn human_count(lang: Lang, n: u64) -> String {
    let digits = n.to_string();
    let sep = lang.t(".", ",");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heavier_of_german_and_english() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Lang::De
        );
        assert_eq!(Lang::from_accept_language("fr,en;q=0.5,de;q=0.7"), Lang::De);
        assert_eq!(Lang::from_accept_language("fr,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr"), Lang::De);
        assert_eq!(Lang::from_accept_language("en;q=0"), Lang::De);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("Ahlen"), "Ahlen");
        assert_eq!(path_segment("Bad Honnef/Rhein"), "Bad%20Honnef%2FRhein");
        assert_eq!(path_segment("Lüdinghausen"), "L%C3%BCdinghausen");
        assert_eq!(path_segment("a:b'c"), "a:b%27c");
    }

    #[test]
    fn sizes_and_counts_in_the_page_language() {
        assert_eq!(human_bytes(Lang::De, 1_234_567), "1,2 MB");
        assert_eq!(human_bytes(Lang::En, 1_234_567), "1.2 MB");
        assert_eq!(human_bytes(Lang::En, 999), "999 B");
        assert_eq!(human_count(Lang::De, 103_384), "103.384");
        assert_eq!(human_count(Lang::En, 1_000), "1,000");
        assert_eq!(human_count(Lang::En, 999), "999");
    }
}
