//! Search in the registry (REG-3): the words of cards and of their files' text, stemmed the same
//! way for both databases' full-text search, an indexer that keeps the index behind the cards,
//! and the page that finds, by words and requisites, only what the reader may read.

pub mod indexer;
pub mod page;
pub mod text;
pub mod words;
