//! `$filter`: a small OData subset, parsed by hand. Comparisons (`eq ne gt ge lt le`) of a
//! property (`id`, `name`, `result`, `phenomenonTime`, any other scalar property) with a
//! string (`'…'`, `''` for a quote), number, datetime (`2024-01-03T12:00:00Z`), `true`,
//! `false` or `null`, joined by `and`, `or`, `not` and parentheses. Anything else is refused
//! with a message naming it.

use std::cmp::Ordering;

use serde_json::Value;

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Op, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Property(String),
    Literal(Scalar),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Num(f64),
    /// Milliseconds since 1970.
    Time(i64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Str(String),
    Word(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => s.push(c),
                        None => return Err("a string literal is not closed with '".into()),
                    }
                }
                out.push(Token::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

/// Parses a `$filter` expression.
pub fn parse(text: &str) -> Result<Expr, String> {
    let tokens = tokens(text)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(expr),
        Some(t) => Err(format!(
            "unexpected {} after a complete expression",
            show(t)
        )),
    }
}

fn show(token: &Token) -> String {
    match token {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Str(s) => format!("string '{s}'"),
        Token::Word(w) => format!("'{w}'"),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.tokens.get(self.at) != Some(&Token::Close) {
                return Err("a '(' is not closed".into());
            }
            self.at += 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = match self.tokens.get(self.at) {
            Some(Token::Word(w)) => match w.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                "add" | "sub" | "mul" | "div" | "mod" | "has" | "in" => {
                    return Err(format!("the operator '{w}' is not supported here"));
                }
                other => {
                    return Err(format!(
                        "expected eq, ne, gt, ge, lt or le, found '{other}'"
                    ));
                }
            },
            Some(t) => return Err(format!("expected a comparison, found {}", show(t))),
            None => return Err("expected a comparison (eq, ne, gt, ge, lt, le)".into()),
        };
        self.at += 1;
        let right = self.operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("expected a property or a literal")?;
        self.at += 1;
        match token {
            Token::Str(s) => Ok(Operand::Literal(Scalar::Str(s))),
            Token::Open | Token::Close => Err(format!(
                "expected a property or a literal, found {}",
                show(&token)
            )),
            Token::Word(w) => {
                if self.tokens.get(self.at) == Some(&Token::Open) {
                    return Err(format!("the function '{w}' is not supported here"));
                }
                word(&w)
            }
        }
    }
}

fn word(w: &str) -> Result<Operand, String> {
    match w {
        "true" => return Ok(Operand::Literal(Scalar::Bool(true))),
        "false" => return Ok(Operand::Literal(Scalar::Bool(false))),
        "null" => return Ok(Operand::Literal(Scalar::Null)),
        _ => {}
    }
    if let Ok(n) = w.parse::<f64>()
        && n.is_finite()
    {
        return Ok(Operand::Literal(Scalar::Num(n)));
    }
    if w.starts_with(|c: char| c.is_ascii_digit()) {
        return time(w)
            .map(|t| Operand::Literal(Scalar::Time(t)))
            .ok_or_else(|| {
                format!("'{w}': not a number nor a datetime with zone (2024-01-03T12:00:00Z)")
            });
    }
    if w.contains('/') {
        return Err(format!(
            "'{w}': paths through related entities are not supported here"
        ));
    }
    if w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(Operand::Property(w.to_owned()));
    }
    Err(format!("'{w}': not a property, number or datetime"))
}

/// An RFC 3339 time with zone, in milliseconds.
pub fn time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The value of a property of an entity: `id` is `@iot.id`; times (`…Time`, start of an
/// interval) as times.
pub fn property(entity: &Value, name: &str) -> Scalar {
    let key = if name == "id" { "@iot.id" } else { name };
    match entity.get(key) {
        None | Some(Value::Null) => Scalar::Null,
        Some(Value::String(s)) if name.ends_with("Time") => {
            let start = s.split('/').next().unwrap_or(s);
            time(start).map_or_else(|| Scalar::Str(s.clone()), Scalar::Time)
        }
        Some(Value::String(s)) => Scalar::Str(s.clone()),
        Some(Value::Number(n)) => n.as_f64().map_or(Scalar::Null, Scalar::Num),
        Some(Value::Bool(b)) => Scalar::Bool(*b),
        Some(other) => Scalar::Str(other.to_string()),
    }
}

/// Orders two scalars of one kind (a string against a time is read as a time); `None` when
/// they do not compare.
pub fn compare(a: &Scalar, b: &Scalar) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Str(x), Scalar::Str(y)) => Some(x.cmp(y)),
        (Scalar::Num(x), Scalar::Num(y)) => x.partial_cmp(y),
        (Scalar::Time(x), Scalar::Time(y)) => Some(x.cmp(y)),
        (Scalar::Str(x), Scalar::Time(y)) => time(x).map(|x| x.cmp(y)),
        (Scalar::Time(x), Scalar::Str(y)) => time(y).map(|y| x.cmp(&y)),
        (Scalar::Bool(x), Scalar::Bool(y)) => Some(x.cmp(y)),
        (Scalar::Null, Scalar::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

fn value(operand: &Operand, entity: &Value) -> Scalar {
    match operand {
        Operand::Property(name) => property(entity, name),
        Operand::Literal(s) => s.clone(),
    }
}

/// Whether `entity` passes the filter.
pub fn matches(expr: &Expr, entity: &Value) -> bool {
    match expr {
        Expr::Or(a, b) => matches(a, entity) || matches(b, entity),
        Expr::And(a, b) => matches(a, entity) && matches(b, entity),
        Expr::Not(a) => !matches(a, entity),
        Expr::Compare(l, op, r) => {
            let order = compare(&value(l, entity), &value(r, entity));
            match op {
                Op::Eq => order == Some(Ordering::Equal),
                Op::Ne => order != Some(Ordering::Equal),
                Op::Gt => order == Some(Ordering::Greater),
                Op::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
                Op::Lt => order == Some(Ordering::Less),
                Op::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_evaluates_the_subset() {
        let obs = json!({"@iot.id": "a:b:W:1", "result": 175.0,
            "phenomenonTime": "2024-01-03T12:00:00Z", "name": "O'Brien"});
        let yes = [
            "result gt 170",
            "result ge 175 and result le 175",
            "not (result lt 100) or id eq 'x'",
            "phenomenonTime ge 2024-01-03T13:00:00+01:00",
            "phenomenonTime lt 2024-01-03T12:00:01Z and (result eq 1 or result eq 175)",
            "name eq 'O''Brien'",
            "id ne 'x'",
            "missing eq null",
        ];
        for f in yes {
            assert!(matches(&parse(f).expect(f), &obs), "{f}");
        }
        let no = [
            "result gt 175",
            "name eq 'x' and result eq 175",
            "not (result eq 175)",
        ];
        for f in no {
            assert!(!matches(&parse(f).expect(f), &obs), "{f}");
        }
        for bad in [
            "substringof('a', name)",
            "result add 1 eq 2",
            "result gt",
            "(result gt 1",
            "Datastream/id eq 'x'",
            "result gt 1 result",
            "name eq 'open",
            "2024-13-01 eq result",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
