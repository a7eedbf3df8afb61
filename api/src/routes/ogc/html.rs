//! The HTML representations (conformance class "HTML"): plain pages rendered from the same
//! JSON the API returns, with every link followable in a browser.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font-family:sans-serif;max-width:60rem;margin:auto;\
         padding:1rem}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;\
         padding:.2rem .4rem;text-align:left}}</style></head><body>\
         <nav><a href=\"/ogc/\">OGC API</a> · <a href=\"/ogc/collections?f=html\">Collections</a>\
         </nav><h1>{t}</h1>{body}</body></html>\n",
        t = escape(title)
    );
    let mut response = (StatusCode::OK, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => escape(s),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

fn links(value: &Value) -> String {
    let mut out = String::from("<ul>");
    for l in value["links"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({}, {})</li>",
            text(&l["href"]),
            text(&l["title"]),
            text(&l["rel"]),
            text(&l["type"]),
        ));
    }
    out.push_str("</ul>");
    out
}

pub fn landing(body: &Value) -> Response {
    let html = format!("<p>{}</p>{}", text(&body["description"]), links(body));
    page(body["title"].as_str().unwrap_or("OGC API"), &html)
}

pub fn conformance(body: &Value) -> Response {
    let mut html = String::from("<ul>");
    for c in body["conformsTo"].as_array().into_iter().flatten() {
        html.push_str(&format!("<li>{}</li>", text(c)));
    }
    html.push_str("</ul>");
    page("Conformance", &html)
}

pub fn collections(body: &Value) -> Response {
    let mut html = String::from("<ul>");
    for c in body["collections"].as_array().into_iter().flatten() {
        let id = text(&c["id"]);
        html.push_str(&format!(
            "<li><a href=\"/ogc/collections/{id}?f=html\">{}</a> — \
             <a href=\"/ogc/collections/{id}/items?f=html\">items</a></li>",
            text(&c["title"]),
        ));
    }
    html.push_str("</ul>");
    page("Collections", &html)
}

pub fn collection(body: &Value) -> Response {
    let html = format!(
        "<p>{}</p><p>Extent (CRS84): {}</p><p>Time: {}</p>{}",
        text(&body["description"]),
        text(&body["extent"]["spatial"]["bbox"]),
        text(&body["extent"]["temporal"]["interval"]),
        links(body),
    );
    page(body["title"].as_str().unwrap_or("Collection"), &html)
}

/// A page of features as a table of their properties.
pub fn items(title: &str, body: &Value) -> Response {
    let features = body["features"].as_array().cloned().unwrap_or_default();
    let mut html = format!(
        "<p>{} of {} features.</p>{}<table><tr><th>id</th>",
        text(&body["numberReturned"]),
        text(&body["numberMatched"]),
        links(body),
    );
    let keys: Vec<String> = features
        .first()
        .and_then(|f| f["properties"].as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for key in &keys {
        html.push_str(&format!("<th>{}</th>", escape(key)));
    }
    html.push_str("</tr>");
    for f in &features {
        html.push_str(&format!("<tr><td>{}</td>", text(&f["id"])));
        for key in &keys {
            html.push_str(&format!("<td>{}</td>", text(&f["properties"][key])));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    page(title, &html)
}

/// Any JSON document, shown as formatted text.
pub fn json_page(title: &str, body: &Value) -> Response {
    let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
    page(title, &format!("<pre>{}</pre>", escape(&pretty)))
}
