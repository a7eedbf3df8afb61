//! A recursive-descent parser for cql2-text.

use geozero::ToWkb;

use super::{Comparison, FilterError, Node, Operand, Spatial, Temporal, bbox_wkb};
use crate::routes::ogc::params::parse_instant;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An identifier or keyword (`"quoted"` identifiers have `quoted` set).
    Word {
        text: String,
        quoted: bool,
    },
    Text(String),
    Number(String),
    Symbol(&'static str),
}

struct Lexed {
    token: Token,
    start: usize,
    end: usize,
}

fn lex(input: &str) -> Result<Vec<Lexed>, FilterError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |message: &str, position: usize| FilterError::Syntax {
        message: message.to_owned(),
        position,
    };
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let token = if c == b'\'' {
            let mut text = String::new();
            i += 1;
            loop {
                let rest = &input[i..];
                let Some(q) = rest.find('\'') else {
                    return Err(err("unterminated string", start));
                };
                text.push_str(&rest[..q]);
                i += q + 1;
                if bytes.get(i) == Some(&b'\'') {
                    text.push('\'');
                    i += 1;
                } else {
                    break;
                }
            }
            Token::Text(text)
        } else if c == b'"' {
            let rest = &input[i + 1..];
            let q = rest
                .find('"')
                .ok_or_else(|| err("unterminated quoted name", start))?;
            i += q + 2;
            Token::Word {
                text: rest[..q].to_owned(),
                quoted: true,
            }
        } else if c.is_ascii_digit()
            || ((c == b'-' || c == b'+' || c == b'.')
                && bytes
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == b'.'))
        {
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit()
                    || bytes[i] == b'.'
                    || bytes[i] == b'e'
                    || bytes[i] == b'E'
                    || ((bytes[i] == b'-' || bytes[i] == b'+')
                        && matches!(bytes[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            Token::Number(input[start..i].to_owned())
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b'.'
                    || bytes[i] == b':'
                    || bytes[i] >= 0x80)
            {
                i += 1;
            }
            Token::Word {
                text: input[start..i].to_owned(),
                quoted: false,
            }
        } else {
            let two = input.get(i..i + 2).unwrap_or("");
            let symbol = match two {
                "<>" | "<=" | ">=" => two,
                _ => match c {
                    b'=' => "=",
                    b'<' => "<",
                    b'>' => ">",
                    b'(' => "(",
                    b')' => ")",
                    b',' => ",",
                    b'[' => "[",
                    b']' => "]",
                    _ => return Err(err(&format!("unexpected '{}'", c as char), start)),
                },
            };
            i += symbol.len();
            Token::Symbol(match symbol {
                "<>" => "<>",
                "<=" => "<=",
                ">=" => ">=",
                "=" => "=",
                "<" => "<",
                ">" => ">",
                "(" => "(",
                ")" => ")",
                "," => ",",
                "[" => "[",
                _ => "]",
            })
        };
        out.push(Lexed {
            token,
            start,
            end: i,
        });
    }
    Ok(out)
}

const GEOMETRY_TYPES: &[&str] = &[
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
];

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Lexed>,
    at: usize,
    /// Open `NOT`s and parentheses: bounded, so a hostile filter cannot exhaust the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 64;

/// Parses a cql2-text boolean expression.
pub fn parse(input: &str) -> Result<Node, FilterError> {
    let mut p = Parser {
        input,
        tokens: lex(input)?,
        at: 0,
        depth: 0,
    };
    let node = p.or()?;
    if p.at < p.tokens.len() {
        return Err(p.error("unexpected text after the expression"));
    }
    Ok(node)
}

impl Parser<'_> {
    fn error(&self, message: &str) -> FilterError {
        FilterError::Syntax {
            message: message.to_owned(),
            position: self
                .tokens
                .get(self.at)
                .map_or(self.input.len(), |t| t.start),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|t| &t.token)
    }

    /// Whether the next token is the (unquoted, case-insensitive) keyword.
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word { text, quoted: false }) if text.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.at += 1;
        }
        found
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, symbol: &str) -> Result<(), FilterError> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{symbol}'")))
        }
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut parts = vec![self.and()?];
        while self.keyword("OR") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut parts = vec![self.not()?];
        while self.keyword("AND") {
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::And(parts)
        })
    }

    fn not(&mut self) -> Result<Node, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("the filter is nested too deeply"));
        }
        let node = if self.keyword("NOT") {
            self.not().map(|n| Node::Not(Box::new(n)))
        } else {
            self.predicate()
        };
        self.depth -= 1;
        node
    }

    fn predicate(&mut self) -> Result<Node, FilterError> {
        if self.symbol("(") {
            let node = self.or()?;
            self.expect(")")?;
            return Ok(node);
        }
        if let Some(Token::Word {
            text,
            quoted: false,
        }) = self.peek().cloned()
        {
            if let Some(op) = Spatial::parse(&text) {
                self.at += 1;
                let (a, b) = self.two_arguments()?;
                return Ok(Node::Spatial(op, a, b));
            }
            if let Some(op) = Temporal::parse(&text) {
                self.at += 1;
                let (a, b) = self.two_arguments()?;
                return Ok(Node::Temporal(op, a, b));
            }
            let upper = text.to_ascii_uppercase();
            if (upper == "TRUE" || upper == "FALSE")
                && !matches!(
                    self.tokens.get(self.at + 1).map(|t| &t.token),
                    Some(Token::Symbol(_))
                )
            {
                self.at += 1;
                return Ok(Node::Literal(upper == "TRUE"));
            }
        }
        let value = self.operand()?;
        let negated = self.keyword("NOT");
        let node = if self.keyword("LIKE") {
            Node::Like {
                value,
                pattern: self.operand()?,
            }
        } else if self.keyword("BETWEEN") {
            let low = self.operand()?;
            if !self.keyword("AND") {
                return Err(self.error("expected AND in BETWEEN"));
            }
            Node::Between {
                value,
                low,
                high: self.operand()?,
            }
        } else if self.keyword("IN") {
            self.expect("(")?;
            let mut list = vec![self.operand()?];
            while self.symbol(",") {
                list.push(self.operand()?);
            }
            self.expect(")")?;
            Node::In { value, list }
        } else if !negated && self.keyword("IS") {
            let not = self.keyword("NOT");
            if !self.keyword("NULL") {
                return Err(self.error("expected NULL"));
            }
            let node = Node::IsNull(value);
            return Ok(if not { Node::Not(Box::new(node)) } else { node });
        } else if negated {
            return Err(self.error("expected LIKE, BETWEEN or IN after NOT"));
        } else {
            let op = match self.peek() {
                Some(Token::Symbol(s)) => Comparison::parse(s),
                _ => None,
            }
            .ok_or_else(|| self.error("expected a comparison operator"))?;
            self.at += 1;
            Node::Compare(op, value, self.operand()?)
        };
        Ok(if negated {
            Node::Not(Box::new(node))
        } else {
            node
        })
    }

    fn two_arguments(&mut self) -> Result<(Operand, Operand), FilterError> {
        self.expect("(")?;
        let a = self.operand()?;
        self.expect(",")?;
        let b = self.operand()?;
        self.expect(")")?;
        Ok((a, b))
    }

    fn string_argument(&mut self) -> Result<String, FilterError> {
        self.expect("(")?;
        let Some(Token::Text(text)) = self.peek().cloned() else {
            return Err(self.error("expected a string"));
        };
        self.at += 1;
        self.expect(")")?;
        Ok(text)
    }

    fn instant(&mut self, text: &str) -> Result<Option<super::Instant>, FilterError> {
        if text == ".." {
            return Ok(None);
        }
        parse_instant(text)
            .map(Some)
            .ok_or_else(|| self.error(&format!("'{text}' is not an RFC 3339 date or time")))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let Some(lexed) = self.tokens.get(self.at) else {
            return Err(self.error("expected a value"));
        };
        let start = lexed.start;
        let token = lexed.token.clone();
        self.at += 1;
        match token {
            Token::Text(s) => Ok(Operand::Text(s)),
            Token::Number(n) => Ok(Operand::Number(n)),
            Token::Word { text, quoted: true } => Ok(Operand::Property(text)),
            Token::Word { text, .. } => {
                let upper = text.to_ascii_uppercase();
                match upper.as_str() {
                    "TRUE" | "FALSE" => Ok(Operand::Bool(upper == "TRUE")),
                    "DATE" | "TIMESTAMP" => {
                        let s = self.string_argument()?;
                        Ok(Operand::Instant(
                            self.instant(&s)?
                                .ok_or_else(|| self.error("an instant cannot be open"))?,
                        ))
                    }
                    "INTERVAL" => {
                        self.expect("(")?;
                        let mut ends = Vec::new();
                        for i in 0..2 {
                            if i == 1 {
                                self.expect(",")?;
                            }
                            match self.peek().cloned() {
                                Some(Token::Text(s)) => {
                                    self.at += 1;
                                    ends.push(self.instant(&s)?);
                                }
                                _ => return Err(self.error("expected a date, time or '..'")),
                            }
                        }
                        self.expect(")")?;
                        Ok(Operand::Interval(ends[0].clone(), ends[1].clone()))
                    }
                    "CASEI" => {
                        self.expect("(")?;
                        self.depth += 1;
                        if self.depth > MAX_DEPTH {
                            return Err(self.error("the filter is nested too deeply"));
                        }
                        let inner = self.operand()?;
                        self.depth -= 1;
                        self.expect(")")?;
                        Ok(Operand::CaseInsensitive(Box::new(inner)))
                    }
                    "BBOX" => {
                        self.expect("(")?;
                        let mut numbers = Vec::new();
                        loop {
                            match self.peek().cloned() {
                                Some(Token::Number(n)) => {
                                    self.at += 1;
                                    numbers.push(
                                        n.parse::<f64>().map_err(|_| self.error("not a number"))?,
                                    );
                                }
                                _ => return Err(self.error("expected a number")),
                            }
                            if !self.symbol(",") {
                                break;
                            }
                        }
                        self.expect(")")?;
                        Ok(Operand::Geometry(bbox_wkb(&numbers)?))
                    }
                    t if GEOMETRY_TYPES.contains(&t) => self.wkt(start),
                    _ if self.peek() == Some(&Token::Symbol("(")) => {
                        Err(self.error(&format!("unknown function {text}")))
                    }
                    _ => Ok(Operand::Property(text)),
                }
            }
            Token::Symbol(s) => Err(FilterError::Syntax {
                message: format!("expected a value, found '{s}'"),
                position: start,
            }),
        }
    }

    /// A WKT geometry from its keyword at `start` through its closing parenthesis.
    fn wkt(&mut self, start: usize) -> Result<Operand, FilterError> {
        let mut depth = 0usize;
        let mut end = None;
        while let Some(t) = self.tokens.get(self.at) {
            self.at += 1;
            match t.token {
                Token::Symbol("(") => depth += 1,
                Token::Symbol(")") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(t.end);
                        break;
                    }
                }
                _ if depth == 0 => {
                    // `POINT EMPTY`, `POINT Z (…)`: keywords before the coordinates.
                }
                _ => {}
            }
        }
        let end = end.ok_or_else(|| self.error("unterminated geometry"))?;
        let wkt = &self.input[start..end];
        geozero::wkt::Wkt(wkt)
            .to_wkb(geozero::CoordDimensions::xy())
            .map(Operand::Geometry)
            .map_err(|e| FilterError::Syntax {
                message: format!("invalid WKT geometry: {e}"),
                position: start,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str) -> Operand {
        Operand::Property(name.into())
    }

    #[test]
    fn precedence_and_predicates() {
        let node = parse("a = 1 OR b LIKE 'x%' AND NOT c IS NULL").expect("parse");
        assert_eq!(
            node,
            Node::Or(vec![
                Node::Compare(Comparison::Eq, prop("a"), Operand::Number("1".into())),
                Node::And(vec![
                    Node::Like {
                        value: prop("b"),
                        pattern: Operand::Text("x%".into())
                    },
                    Node::Not(Box::new(Node::IsNull(prop("c")))),
                ]),
            ])
        );
    }

    #[test]
    fn quoted_names_strings_in_and_between() {
        let node = parse(
            "\"Informationsstufe 1\" BETWEEN 100 AND 200.5 AND Name NOT IN ('Ahlen', 'O''Brien')",
        )
        .expect("parse");
        let Node::And(parts) = node else {
            panic!("and")
        };
        assert!(
            matches!(&parts[0], Node::Between { value, .. } if *value == prop("Informationsstufe 1"))
        );
        let Node::Not(inner) = &parts[1] else {
            panic!("not")
        };
        assert_eq!(
            **inner,
            Node::In {
                value: prop("Name"),
                list: vec![
                    Operand::Text("Ahlen".into()),
                    Operand::Text("O'Brien".into())
                ]
            }
        );
    }

    #[test]
    fn spatial_and_temporal_literals() {
        let node =
            parse("S_INTERSECTS(geometry, POLYGON((8 49, 9 49, 9 50, 8 49)))").expect("parse");
        assert!(matches!(
            node,
            Node::Spatial(Spatial::Intersects, _, Operand::Geometry(_))
        ));
        let node = parse("s_within(geometry, BBOX(8, 49, 9, 50))").expect("parse");
        assert!(matches!(
            node,
            Node::Spatial(Spatial::Within, _, Operand::Geometry(_))
        ));
        let node = parse("T_DURING(Datum, INTERVAL('2013-01-01', '..'))").expect("parse");
        assert!(matches!(
            node,
            Node::Temporal(Temporal::During, _, Operand::Interval(Some(_), None))
        ));
        let node = parse("T_AFTER(Datum, DATE('2013-06-01'))").expect("parse");
        assert!(matches!(
            node,
            Node::Temporal(Temporal::After, _, Operand::Instant(_))
        ));
    }

    #[test]
    fn errors_name_a_position() {
        let deep = format!("{}a = 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).is_err());
        assert!(parse(&"NOT ".repeat(100_000)).is_err());
        let casei = format!("{}a{} = 'x'", "CASEI(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&casei).is_err());
        for bad in [
            "a =",
            "a = 'x",
            "(a = 1",
            "a ! 1",
            "S_INTERSECTS(geometry, POLYGON((1 x)))",
            "FOO(a) = 1",
            "a = 1 b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
