//! What the leaf certificate says: its dates (parsed with `x509-parser`), judged as the
//! `days_left` metric with lower levels, and whether it is valid for the server name (the
//! same check rustls runs when it verifies a server).

use checkd_model::{format_number, Levels, Metric, Partial, State};
use tokio_rustls::rustls::client::verify_server_name;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{CertificateError, Error};

const DAY: i64 = 86_400;

/// The parts of the leaf certificate a result shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// Unix seconds.
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) subject: String,
    pub(crate) issuer: String,
}

impl Leaf {
    pub(crate) fn parse(der: &CertificateDer<'_>) -> Result<Leaf, String> {
        let (_, certificate) = x509_parser::parse_x509_certificate(der)
            .map_err(|error| format!("cannot parse the certificate: {error}"))?;
        let validity = certificate.validity();
        Ok(Leaf {
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            subject: printable(&certificate.subject().to_string()),
            issuer: printable(&certificate.issuer().to_string()),
        })
    }

    /// The detail lines: subject, issuer, and `expires` as Unix seconds and as a date.
    pub(crate) fn details(&self) -> String {
        format!(
            "subject: {}\nissuer: {}\nexpires: {} ({})",
            self.subject,
            self.issuer,
            self.not_after,
            date(self.not_after)
        )
    }

    /// The `days_left` partial, CRIT once expired whatever the levels, and a CRIT partial
    /// when the certificate is not valid yet.
    pub(crate) fn expiry(&self, now: i64, levels: Levels) -> Vec<Partial> {
        let left = self.not_after.saturating_sub(now);
        let metric = Metric {
            lower: levels,
            // Days with three decimals: precise enough for a graph, short in the output.
            ..Metric::new(
                "days_left",
                (left as f64 / DAY as f64 * 1000.0).round() / 1000.0,
            )
        };
        let until = date(self.not_after);
        let (state, text) = if left < 0 {
            (
                State::Crit,
                format!(
                    "certificate expired {} ago ({until})",
                    span(left.unsigned_abs())
                ),
            )
        } else {
            let state = metric.state();
            let crossed = match state {
                State::Crit => levels.crit.map(|level| ("crit", level)),
                State::Warn => levels.warn.map(|level| ("warn", level)),
                State::Ok | State::Unknown => None,
            };
            let crossed = crossed.map_or(String::new(), |(word, level)| {
                format!(" ({word} below {} days)", format_number(level))
            });
            let left = span(left.unsigned_abs());
            (
                state,
                format!("certificate expires in {left} ({until}){crossed}"),
            )
        };
        let mut partials = vec![Partial::new(state, text).with_metric(metric)];
        if now < self.not_before {
            partials.push(Partial::new(
                State::Crit,
                format!("certificate not valid before {}", date(self.not_before)),
            ));
        }
        partials
    }
}

/// OK when the leaf is valid for `server_name`, else CRIT "certificate does not match NAME".
pub(crate) fn name(
    leaf: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    shown: &str,
) -> Partial {
    let checked = ParsedCertificate::try_from(leaf)
        .and_then(|parsed| verify_server_name(&parsed, server_name));
    match checked {
        Ok(()) => Partial::new(State::Ok, format!("certificate matches {shown}")),
        Err(Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => Partial::new(State::Crit, format!("certificate does not match {shown}")),
        Err(error) => Partial::new(
            State::Crit,
            format!("certificate does not match {shown}: {error}"),
        ),
    }
}

/// `4 days 23 hours`, `5 hours 2 minutes`, `1 minute`.
fn span(seconds: u64) -> String {
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{} {}", unit(days, "day"), unit(hours, "hour"))
    } else if hours > 0 {
        format!("{} {}", unit(hours, "hour"), unit(minutes, "minute"))
    } else {
        unit(minutes, "minute")
    }
}

/// `2025-06-01 12:00 UTC` (proleptic Gregorian calendar, from Unix seconds).
fn date(unix: i64) -> String {
    let days = unix.div_euclid(DAY);
    let seconds = unix.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60
    )
}

/// Names come from the peer: no control characters in a result.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_spans_read_like_people_write_them() {
        assert_eq!(date(0), "1970-01-01 00:00 UTC");
        assert_eq!(date(951_827_696), "2000-02-29 12:34 UTC");
        assert_eq!(date(1_767_225_599), "2025-12-31 23:59 UTC");
        assert_eq!(date(-86_400), "1969-12-31 00:00 UTC");
        assert_eq!(span(5 * 86_400 - 30), "4 days 23 hours");
        assert_eq!(span(86_400 + 3600), "1 day 1 hour");
        assert_eq!(span(2 * 3600 + 120), "2 hours 2 minutes");
        assert_eq!(span(59), "0 minutes");
    }

    fn leaf(not_before: i64, not_after: i64) -> Leaf {
        Leaf {
            not_before,
            not_after,
            subject: "CN=x".into(),
            issuer: "CN=ca".into(),
        }
    }

    #[test]
    fn days_left_uses_lower_levels_and_expired_is_always_crit() {
        let levels = Levels {
            warn: Some(14.0),
            crit: Some(7.0),
        };
        let check = |days: i64, levels: Levels| {
            let partials = leaf(-DAY * 400, days * DAY).expiry(0, levels);
            let metric = partials[0].metric.clone().map(|m| (m.value, m.lower));
            (partials[0].state, partials[0].text.clone(), metric)
        };
        let expires = |days: i64| date(days * DAY);
        assert_eq!(
            check(30, levels),
            (
                State::Ok,
                format!("certificate expires in 30 days 0 hours ({})", expires(30)),
                Some((30.0, levels))
            )
        );
        assert_eq!(check(10, levels).0, State::Warn);
        assert_eq!(
            check(5, levels).1,
            format!(
                "certificate expires in 5 days 0 hours ({}) (crit below 7 days)",
                expires(5)
            )
        );
        assert_eq!(
            check(-2, Levels::NONE),
            (
                State::Crit,
                format!("certificate expired 2 days 0 hours ago ({})", expires(-2)),
                Some((-2.0, Levels::NONE))
            )
        );
    }

    #[test]
    fn a_certificate_not_valid_yet_is_crit() {
        let partials = leaf(DAY, 30 * DAY).expiry(0, Levels::NONE);
        assert_eq!(partials.len(), 2);
        assert_eq!(
            (partials[1].state, partials[1].text.as_str()),
            (
                State::Crit,
                "certificate not valid before 1970-01-02 00:00 UTC"
            )
        );
    }
}
