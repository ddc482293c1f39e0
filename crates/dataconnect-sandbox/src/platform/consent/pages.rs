//! The HTML the consent journey answers: the legacy sandbox's redirect page
//! and the interactive French consent page of `--consent-page`.

use super::*;

/// The legacy sandbox's answer: a page whose script holds
/// `var url = "…"` (CONSO-PY scrapes it with `var url = \".*\"`) and sends
/// the browser there, plus a link for clients without JavaScript.
pub(super) fn legacy_page(url: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<title>Redirection</title>\n</head>\n<body>\n<script type=\"text/javascript\">\nvar url = \"{js}\";\nwindow.location.href = url;\n</script>\n<p>Vous allez être redirigé vers l'application. Si rien ne se passe, <a href=\"{href}\">cliquez ici</a>.</p>\n</body>\n</html>\n",
        js = js_string(url),
        href = html_escape(url),
    );
    html(StatusCode::OK, page)
}

/// Escapes text for a double-quoted JavaScript string inside a `<script>`
/// element. `&` is left alone so that scrapers read the URL as it is.
pub(super) fn js_string(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn html(status: StatusCode, page: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], page).into_response()
}

/// The French description of each sandbox client, as the spec lists them.
pub(super) fn client_description(client: u8) -> &'static str {
    match client {
        0 => "un point de consommation, courbe de charge activée, données complètes",
        1 => "un point de consommation mis en service le 27 août 2019",
        2 => "un point de consommation, courbe de charge non activée",
        3 => "un point de consommation et un point de production",
        4 => "un point de consommation, sans données les mardis et mercredis",
        5 => "un point de production seule",
        6 => "un point en autoconsommation",
        7 => "trois points de consommation",
        8 => "donne son consentement puis le révoque aussitôt",
        _ => "",
    }
}

pub(super) fn meter_kind(meter: &Meter) -> &'static str {
    match (meter.consumption, meter.production) {
        (true, true) => "consommation et production",
        (false, true) => "production",
        _ => "consommation",
    }
}

/// The interactive consent page: who asks, for how long, which data; the
/// customer picks a sandbox client and its meters, then accepts or refuses.
/// Plain HTML forms; every reflected value is escaped.
pub(super) fn consent_page(
    sandbox: &Sandbox,
    valid: &Valid,
    preselected: u8,
    selected: &[String],
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let today = sandbox.clock().today();
    let until = valid.duration.end(today).map(|d| d.strftime("%d/%m/%Y").to_string()).unwrap_or_default();
    let e = html_escape;
    let mut page = String::with_capacity(8192);
    page.push_str("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<title>Partage de vos données – Enedis (bac à sable)</title>\n");
    page.push_str("<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;padding:0 1em}fieldset{margin:1em 0}li{list-style:none}.erreur{color:#b00020;font-weight:bold}</style>\n");
    page.push_str("</head>\n<body>\n<header><p><strong>Enedis</strong> · Mon compte particulier · bac à sable dataconnect</p></header>\n<main>\n");
    page.push_str("<h1>Autorisation d'accès à vos données</h1>\n");
    page.push_str(&format!(
        "<p>L'application <strong>{}</strong> souhaite accéder aux données de votre compteur Linky pendant <strong>{}</strong> (durée demandée : {}), soit jusqu'au {}.</p>\n",
        e(&valid.client_id),
        e(&valid.duration.in_words()),
        e(&valid.duration_text),
        e(&until),
    ));
    page.push_str("<h2>Données partagées</h2>\n<ul>\n");
    for item in valid.generation.data_shared() {
        page.push_str(&format!("<li>• {}</li>\n", e(item)));
    }
    page.push_str("</ul>\n");
    if let Some(message) = message {
        page.push_str(&format!("<p class=\"erreur\" role=\"alert\">{}</p>\n", e(message)));
    }
    page.push_str(&format!("<form method=\"post\" action=\"{}\">\n", e(valid.path)));
    let mut hidden = |name: &str, value: &str| {
        page.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", e(name), e(value)));
    };
    hidden("client_id", &valid.client_id);
    hidden("response_type", "code");
    hidden("duration", &valid.duration_text);
    if let Some(state) = &valid.state {
        hidden("state", state);
    }
    if let Some(redirect) = &valid.redirect_param {
        hidden("redirect_uri", redirect);
    }
    page.push_str("<fieldset>\n<legend>Titulaire et compteurs (clients de test du bac à sable)</legend>\n");
    let input_type = if valid.generation == Generation::Y2026 { "radio" } else { "checkbox" };
    for client in 0..=8u8 {
        let checked = if client == preselected { " checked" } else { "" };
        page.push_str(&format!(
            "<p><input type=\"radio\" name=\"client\" id=\"client-{client}\" value=\"{client}\"{checked}> <label for=\"client-{client}\">Client de test {client} : {}</label></p>\n<ul>\n",
            e(client_description(client)),
        ));
        for meter in meters::of_client(client) {
            let ticked = if selected.iter().any(|s| s == meter.prm) { " checked" } else { "" };
            page.push_str(&format!(
                "<li><input type=\"{input_type}\" name=\"prm\" id=\"prm-{prm}\" value=\"{prm}\"{ticked}> <label for=\"prm-{prm}\">Compteur {prm} ({kind})</label></li>\n",
                prm = e(meter.prm),
                kind = meter_kind(meter),
            ));
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</fieldset>\n");
    if valid.generation == Generation::Y2026 {
        page.push_str(
            "<p>Un partage porte sur un seul compteur. Sans choix, le premier compteur du titulaire est partagé.</p>\n",
        );
    } else {
        page.push_str("<p>Sans choix, tous les compteurs du titulaire sont partagés.</p>\n");
    }
    page.push_str("<p><button type=\"submit\" name=\"decision\" value=\"accept\">Accepter</button> <button type=\"submit\" name=\"decision\" value=\"refuse\">Refuser</button></p>\n");
    page.push_str("</form>\n</main>\n</body>\n</html>\n");
    html(status, page)
}
