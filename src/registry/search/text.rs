//! The text of a card's file as search reads it: PDF (through lopdf, with its fonts' Unicode
//! maps), ODT and DOCX (the zip's XML, text in document order, paragraphs on their own lines) and
//! TXT (UTF-8, else windows-1251). Bounded: at most `MAX_TEXT` of text, `MAX_XML` of a zip's XML,
//! `MAX_STREAM` of a PDF stream decompressed; a file that cannot be read gives an error, no panic.

use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::Event;

/// The longest text kept of one file (bytes).
pub const MAX_TEXT: usize = 1024 * 1024;
/// The most a zip's XML part may decompress to (bytes); past it the rest is not read.
const MAX_XML: u64 = 32 * 1024 * 1024;
/// The most one PDF stream may decompress to (bytes).
const MAX_STREAM: usize = 32 * 1024 * 1024;
/// The most pages of a PDF read.
const MAX_PAGES: usize = 2000;

/// The formats whose text search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Odt,
    Docx,
    Txt,
}

impl Format {
    /// The format of a file by its media type or, failing that, its name's extension; `None`
    /// for a file whose text search does not read (a scan's image, a signature).
    pub fn of(media_type: &str, file_name: &str) -> Option<Format> {
        let media = media_type.split(';').next().unwrap_or("").trim();
        let by_media = match media.to_ascii_lowercase().as_str() {
            "application/pdf" => Some(Format::Pdf),
            "application/vnd.oasis.opendocument.text" => Some(Format::Odt),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                Some(Format::Docx)
            }
            "text/plain" => Some(Format::Txt),
            _ => None,
        };
        by_media.or_else(|| {
            let extension = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
            match extension.as_str() {
                "pdf" => Some(Format::Pdf),
                "odt" => Some(Format::Odt),
                "docx" => Some(Format::Docx),
                "txt" => Some(Format::Txt),
                _ => None,
            }
        })
    }
}

/// The text of `content` read as `format`, at most `MAX_TEXT`; an error says why it cannot be
/// read (for a log line: never the file's content).
pub fn extract(format: Format, content: &[u8]) -> Result<String, String> {
    let read = std::panic::catch_unwind(|| match format {
        Format::Pdf => pdf(content),
        Format::Odt => zipped_xml(content, "content.xml", Dialect::Odf),
        Format::Docx => zipped_xml(content, "word/document.xml", Dialect::Word),
        Format::Txt => Ok(plain(content)),
    });
    match read {
        Ok(text) => text.map(|t| capped(t, MAX_TEXT)),
        Err(_) => Err("the reader of its format failed on it".to_string()),
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn capped(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// UTF-8 (a byte-order mark dropped); bytes that are not UTF-8 read as windows-1251, the
/// other encoding Ukrainian plain text comes in.
fn plain(content: &[u8]) -> String {
    let content = &content[..content.len().min(MAX_TEXT)];
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    match std::str::from_utf8(content) {
        Ok(text) => text.to_string(),
        // Cut in the middle of a character by the cap: the whole characters before it.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&content[..e.valid_up_to()]).into_owned()
        }
        Err(_) => encoding_rs::WINDOWS_1251.decode(content).0.into_owned(),
    }
}

fn pdf(content: &[u8]) -> Result<String, String> {
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_STREAM),
        ..Default::default()
    };
    let document = lopdf::Document::load_mem_with_options(content, options)
        .map_err(|e| format!("it is not a PDF that can be read ({e})"))?;
    let mut text = String::new();
    for page in document.get_pages().into_keys().take(MAX_PAGES) {
        // A part of a page whose text cannot be decoded is skipped; the others still count.
        for chunk in document
            .extract_text_chunks_with_limit(&[page], MAX_STREAM)
            .into_iter()
            .flatten()
        {
            text.push_str(&chunk);
        }
        text.push('\n');
        if text.len() >= MAX_TEXT {
            break;
        }
    }
    Ok(text)
}

/// The XML vocabulary of a zipped document.
#[derive(Clone, Copy)]
enum Dialect {
    /// OpenDocument: text in `text:p`/`text:h`, `text:s` a space, `text:tab`, `text:line-break`.
    Odf,
    /// Office Open XML: text in `w:t` inside `w:p`, `w:tab`, `w:br`.
    Word,
}

fn zipped_xml(content: &[u8], part: &str, dialect: Dialect) -> Result<String, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(content))
        .map_err(|e| format!("it is not a zip archive that can be read ({e})"))?;
    let entry = archive
        .by_name(part)
        .map_err(|e| format!("it has no {part} ({e})"))?;
    let mut xml = Vec::new();
    entry
        .take(MAX_XML)
        .read_to_end(&mut xml)
        .map_err(|e| format!("its {part} cannot be decompressed ({e})"))?;
    let xml = String::from_utf8_lossy(&xml);
    Ok(xml_text(&xml, dialect))
}

/// The text nodes of `xml` in document order, a paragraph per line; XML that breaks off keeps
/// the text before the break.
fn xml_text(xml: &str, dialect: Dialect) -> String {
    let mut reader = Reader::from_str(xml);
    let mut text = String::new();
    // Word keeps text in `w:t` only (field codes and the like are elsewhere).
    let mut in_text = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        match event {
            Event::Start(e) if matches!(dialect, Dialect::Word) && e.name().as_ref() == "w:t" => {
                in_text += 1;
            }
            Event::End(e) => match (dialect, e.name().as_ref()) {
                (Dialect::Odf, "text:p" | "text:h") | (Dialect::Word, "w:p") => text.push('\n'),
                (Dialect::Word, "w:t") => in_text = in_text.saturating_sub(1),
                _ => {}
            },
            Event::Empty(e) => match (dialect, e.name().as_ref()) {
                (Dialect::Odf, "text:s") => text.push(' '),
                (Dialect::Odf, "text:tab") | (Dialect::Word, "w:tab") => text.push('\t'),
                (Dialect::Odf, "text:line-break" | "text:p" | "text:h")
                | (Dialect::Word, "w:br" | "w:p") => text.push('\n'),
                _ => {}
            },
            Event::Text(t) if matches!(dialect, Dialect::Odf) || in_text > 0 => {
                text.push_str(&t.xml10_content());
            }
            Event::CData(t) if matches!(dialect, Dialect::Odf) || in_text > 0 => {
                text.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if matches!(dialect, Dialect::Odf) || in_text > 0 => {
                let reference = format!("&{};", r.xml10_content());
                if let Ok(c) = quick_xml::escape::unescape(&reference) {
                    text.push_str(&c);
                }
            }
            _ => {}
        }
        if text.len() >= MAX_TEXT {
            break;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::workflow::pdf::{Line, Style};

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in parts {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn the_appliances_own_pdf_gives_its_ukrainian_text() {
        let pdf = crate::workflow::pdf::render(
            "Рішення про призначення допомоги",
            &[
                Line::new(Style::Heading, "Рішення про призначення допомоги"),
                Line::new(
                    Style::Body,
                    "Заявниці Ґрещук Ользі Іванівні призначено допомогу.",
                ),
            ],
        );
        let text = extract(Format::Pdf, &pdf).unwrap();
        let words = crate::registry::search::words::stemmed(&text);
        for word in ["Ґрещук", "допомогу", "Рішення", "Іванівні"] {
            let stem = crate::registry::search::words::stemmed(word);
            assert!(
                words.split(' ').any(|w| w == stem),
                "{word} ({stem}) not in {text:?}"
            );
        }
    }

    #[test]
    fn an_odt_gives_its_paragraphs_in_order() {
        let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>
<text:h>Заява</text:h><text:p>Прошу надати<text:s/>матеріальну &amp; <text:span>допомогу</text:span></text:p><text:p>Друга</text:p>
</office:text></office:body></office:document-content>"#;
        let odt = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.as_bytes()),
        ]);
        let text = extract(Format::Odt, &odt).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(
            lines,
            vec!["Заява", "Прошу надати матеріальну & допомогу", "Друга"]
        );
    }

    #[test]
    fn a_docx_gives_the_text_of_its_runs_only() {
        let content = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Лист</w:t></w:r><w:r><w:t xml:space="preserve"> щодо </w:t></w:r><w:r><w:t>ремонту</w:t></w:r></w:p>
<w:p><w:r><w:instrText>PAGE</w:instrText><w:t>дороги</w:t></w:r></w:p>
</w:body></w:document>"#;
        let docx = zip_of(&[("word/document.xml", content.as_bytes())]);
        let text = extract(Format::Docx, &docx).unwrap();
        assert_eq!(text.trim(), "Лист щодо ремонту\nдороги");
    }

    #[test]
    fn plain_text_in_utf8_or_windows_1251() {
        assert_eq!(
            extract(Format::Txt, "\u{feff}Заява".as_bytes()).unwrap(),
            "Заява"
        );
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Заява про ґанок");
        assert_eq!(extract(Format::Txt, &cp1251).unwrap(), "Заява про ґанок");
    }

    #[test]
    fn a_zip_bomb_gives_at_most_the_capped_text() {
        // 200 MB of one paragraph repeated compresses to a few hundred kilobytes.
        let paragraph = "<text:p>слово слово слово слово слово слово</text:p>";
        let mut content = String::from(
            r#"<office:document-content xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">"#,
        );
        while content.len() < 200 * 1024 * 1024 {
            content.push_str(paragraph);
        }
        let bomb = zip_of(&[("content.xml", content.as_bytes())]);
        drop(content);
        assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
        let text = extract(Format::Odt, &bomb).unwrap();
        assert!(text.len() <= MAX_TEXT);
        assert!(text.starts_with("слово"));
    }

    #[test]
    fn malformed_files_give_an_error_not_a_panic() {
        let pdf = crate::workflow::pdf::render("Заголовок", &[Line::new(Style::Body, "текст")]);
        for broken in [
            &b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer"[..],
            &pdf[..pdf.len() / 2],
            b"not a pdf at all",
            b"",
        ] {
            let _ = extract(Format::Pdf, broken);
        }
        assert!(extract(Format::Odt, b"PK\x03\x04 broken").is_err());
        assert!(extract(Format::Docx, &zip_of(&[("other.xml", b"<a/>")])).is_err());
        let odt = zip_of(&[(
            "content.xml",
            b"<text:p>\xD0\x97\xD0\xB0\xD1\x8F\xD0\xB2\xD0\xB0<text:p><<",
        )]);
        assert!(extract(Format::Odt, &odt).unwrap().contains("Заява"));
    }
}
