//! German text analysis for the catalogue index: how titles, descriptions, keywords and column
//! names become terms, and how a search box's words become the same terms.
//!
//! Two kinds of term per text:
//! - **stemmed** (`de_stem`): words, lowercased, German stop words dropped, Snowball's German
//!   stemmer (which also turns `ß` into `ss` and `ae`/`oe`/`ue` into umlauts before dropping the
//!   umlauts), then ASCII folding for the remaining accents. "Straße", "Strassen" and "strasse"
//!   all become `strass`; "Pegelstände" and "Pegelstaende" become `pegelstand`.
//! - **prefix** (edge n-grams): every prefix of 3 to [`MAX_PREFIX`] characters of every
//!   unstemmed folded word, so that a word finds the compounds it starts: "Pegel" finds
//!   "Pegelstände", "Haushalt" finds "Haushaltsplan". A word with an umlaut is indexed in both
//!   German spellings — tantivy's folding (`ä`→`a`, `ß`→`ss`) and the transliteration
//!   (`ä`→`ae`) — so "Müller", "Mueller" and "Muller" find it; "Munster" does not find
//!   "Muenster" (a different town). Words with digits get no prefixes ("2017" is not "201").
//!
//! Edge n-grams rather than prefix queries: each prefix is an ordinary term with its own BM25
//! statistics, so a compound match is scored like any other match, costs one term lookup, and
//! the index stays small for a catalogue of hundreds of datasets.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, PreTokenizedString, RawTokenizer, RemoveLongFilter,
    SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, Token,
};

/// The tokenizer name of the stemmed text fields.
pub(super) const STEMMED: &str = "de_stem";
/// The tokenizer name of the filter fields: the whole value, lowercased.
pub(super) const EXACT: &str = "exact_lower";

/// The shortest prefix indexed: shorter query words match whole words only.
const MIN_PREFIX: usize = 3;
/// The longest prefix indexed, in characters; longer query words are cut to it.
pub(super) const MAX_PREFIX: usize = 24;
/// Longer tokens (bytes) are noise: hashes, URLs, run-together lists.
const MAX_TOKEN: usize = 40;

fn stop_words() -> StopWordFilter {
    StopWordFilter::new(Language::German).unwrap_or_else(|| StopWordFilter::remove(Vec::new()))
}

/// Words as the user wrote them, lowercased, without German stop words.
fn words() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN))
        .filter(LowerCaser)
        .filter(stop_words())
        .build()
}

/// The analyzer of the stemmed fields, registered as [`STEMMED`].
pub(super) fn stemmed() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN))
        .filter(LowerCaser)
        .filter(stop_words())
        // The Snowball German stemmer wants the umlauts and ß; fold only after it.
        .filter(Stemmer::new(Language::German))
        .filter(AsciiFoldingFilter)
        .build()
}

/// The analyzer of the filter fields, registered as [`EXACT`].
pub(super) fn exact() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// Text analysis with the analyzers built once.
#[derive(Clone)]
pub(super) struct Analysis {
    words: TextAnalyzer,
    stemmed: TextAnalyzer,
    exact: TextAnalyzer,
    fold: TextAnalyzer,
}

/// A word of a search query and the terms it is looked up as.
#[derive(Debug, PartialEq)]
pub(super) struct QueryWord {
    /// The term in the stemmed fields, unless the word was too long to index.
    pub stem: Option<String>,
    /// The terms in the prefix fields: the word in each spelling (none for words with digits
    /// or shorter than the shortest prefix).
    pub prefixes: Vec<String>,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            words: words(),
            stemmed: stemmed(),
            exact: exact(),
            fold: TextAnalyzer::builder(RawTokenizer::default())
                .filter(AsciiFoldingFilter)
                .build(),
        }
    }
}

impl Analysis {
    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            tokens.push(token.clone());
        }
        tokens
    }

    /// The word folded as tantivy does (`ä`→`a`, `ß`→`ss`, `é`→`e`).
    fn fold(&mut self, word: &str) -> String {
        if word.is_ascii() {
            return word.to_owned();
        }
        Self::tokens(&mut self.fold, word)
            .pop()
            .map_or_else(|| word.to_owned(), |t| t.text)
    }

    /// The spellings of a lowercased word: folded, and with `ä`/`ö`/`ü` as `ae`/`oe`/`ue`.
    fn spellings(&mut self, word: &str) -> Vec<String> {
        let mut spellings = vec![self.fold(word)];
        if word.contains(['ä', 'ö', 'ü']) {
            let transliterated = word
                .replace('ä', "ae")
                .replace('ö', "oe")
                .replace('ü', "ue");
            let folded = self.fold(&transliterated);
            if !spellings.contains(&folded) {
                spellings.push(folded);
            }
        }
        spellings
    }

    /// The prefix terms of a text, for a pre-tokenized prefix field.
    pub fn prefixes(&mut self, text: &str) -> PreTokenizedString {
        let mut tokens = Vec::new();
        for word in Self::tokens(&mut self.words, text) {
            if word.text.chars().any(|c| c.is_numeric()) {
                continue;
            }
            for spelling in self.spellings(&word.text) {
                for (n, (end, c)) in spelling.char_indices().enumerate() {
                    if n + 1 > MAX_PREFIX {
                        break;
                    }
                    if n + 1 >= MIN_PREFIX {
                        tokens.push(Token {
                            text: spelling[..end + c.len_utf8()].to_owned(),
                            ..word.clone()
                        });
                    }
                }
            }
        }
        PreTokenizedString {
            text: text.to_owned(),
            tokens,
        }
    }

    /// The words of a search query and their terms; stop words are left out.
    pub fn query(&mut self, q: &str) -> Vec<QueryWord> {
        Self::tokens(&mut self.words, q)
            .into_iter()
            .map(|word| {
                let stem = Self::tokens(&mut self.stemmed, &word.text)
                    .pop()
                    .map(|t| t.text);
                let prefixes = if word.text.chars().any(|c| c.is_numeric()) {
                    Vec::new()
                } else {
                    self.spellings(&word.text)
                        .into_iter()
                        .filter(|s| s.chars().count() >= MIN_PREFIX)
                        .map(|s| s.chars().take(MAX_PREFIX).collect())
                        .collect()
                };
                QueryWord { stem, prefixes }
            })
            .collect()
    }

    /// A filter value as its term in a filter field.
    pub fn exact(&mut self, value: &str) -> String {
        Self::tokens(&mut self.exact, value)
            .pop()
            .map_or_else(String::new, |t| t.text)
    }

    /// A sort key for titles: lowercased and folded, so "Ämter" sorts with "amter".
    pub fn sort_key(&mut self, title: &str) -> String {
        let lower = title.to_lowercase();
        self.fold(&lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        Analysis::tokens(&mut stemmed(), text)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn german_spellings_stem_alike() {
        assert_eq!(stems("Straße Strasse strassen"), ["strass"; 3]);
        assert_eq!(stems("Pegelstände Pegelstaende"), ["pegelstand"; 2]);
        assert_eq!(stems("Wasserstände Wasserstand"), ["wasserstand"; 2]);
        // Stop words go; numbers stay.
        assert_eq!(stems("der Haushalt 2017"), ["haushalt", "2017"]);
    }

    #[test]
    fn prefixes_cover_both_umlaut_spellings_and_skip_numbers() {
        let mut analysis = Analysis::default();
        let terms: Vec<String> = analysis
            .prefixes("Pegelstände 2017 Maß")
            .tokens
            .into_iter()
            .map(|t| t.text)
            .collect();
        for expected in ["peg", "pegel", "pegelstande", "pegelstaende", "mas", "mass"] {
            assert!(
                terms.contains(&expected.to_owned()),
                "{expected} in {terms:?}"
            );
        }
        assert!(!terms.iter().any(|t| t.starts_with("20")), "{terms:?}");
        assert!(!terms.contains(&"pe".to_owned()));
    }

    #[test]
    fn query_words_carry_stem_and_spellings() {
        let mut analysis = Analysis::default();
        let words = analysis.query("die Straße über 2017");
        assert_eq!(
            words,
            [
                QueryWord {
                    stem: Some("strass".into()),
                    prefixes: vec!["strasse".into()]
                },
                QueryWord {
                    stem: Some("2017".into()),
                    prefixes: vec![]
                },
            ]
        );
        let words = analysis.query("Müller");
        assert_eq!(words[0].prefixes, ["muller", "mueller"]);
    }
}
