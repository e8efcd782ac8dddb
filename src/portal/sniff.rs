//! What an uploaded file really is, judged by its bytes rather than its name: the open formats a
//! form may accept (`check::forms`'s list), each recognised by its signature, so that a program
//! renamed `.pdf` is refused.

/// A format an attachment may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Jpeg,
    Png,
    Tiff,
    Odt,
    Ods,
    Docx,
    Xlsx,
    Asice,
    P7s,
    Json,
    Xml,
    Text,
}

impl Format {
    /// The format a file name's extension names, in any letter case.
    pub fn of_extension(extension: &str) -> Option<Format> {
        Some(match extension.to_ascii_lowercase().as_str() {
            "pdf" => Format::Pdf,
            "jpg" | "jpeg" => Format::Jpeg,
            "png" => Format::Png,
            "tif" | "tiff" => Format::Tiff,
            "odt" => Format::Odt,
            "ods" => Format::Ods,
            "docx" => Format::Docx,
            "xlsx" => Format::Xlsx,
            "asice" => Format::Asice,
            "p7s" => Format::P7s,
            "json" => Format::Json,
            "xml" => Format::Xml,
            "txt" => Format::Text,
            _ => return None,
        })
    }

    /// The media type a recognised file is stored and served as.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Tiff => "image/tiff",
            Format::Odt => "application/vnd.oasis.opendocument.text",
            Format::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Asice => "application/vnd.etsi.asic-e+zip",
            Format::P7s => "application/pkcs7-signature",
            Format::Json => "application/json",
            Format::Xml => "application/xml",
            Format::Text => "text/plain; charset=utf-8",
        }
    }

    /// How people name the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "PDF",
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Tiff => "TIFF",
            Format::Odt => "ODT",
            Format::Ods => "ODS",
            Format::Docx => "DOCX",
            Format::Xlsx => "XLSX",
            Format::Asice => "ASiC-E",
            Format::P7s => "P7S",
            Format::Json => "JSON",
            Format::Xml => "XML",
            Format::Text => "TXT",
        }
    }

    /// Whether `content` is a file of this format.
    pub fn matches(self, content: &[u8]) -> bool {
        match self {
            Format::Pdf => content.starts_with(b"%PDF-"),
            Format::Jpeg => content.starts_with(&[0xFF, 0xD8, 0xFF]),
            Format::Png => content.starts_with(b"\x89PNG\r\n\x1a\n"),
            Format::Tiff => content.starts_with(b"II*\0") || content.starts_with(b"MM\0*"),
            Format::Odt => zip_mimetype(content, b"application/vnd.oasis.opendocument.text"),
            Format::Ods => zip_mimetype(content, b"application/vnd.oasis.opendocument.spreadsheet"),
            Format::Asice => zip_mimetype(content, b"application/vnd.etsi.asic-e+zip"),
            Format::Docx => zip_names(content, b"word/document.xml"),
            Format::Xlsx => zip_names(content, b"xl/workbook.xml"),
            Format::P7s => cms(content),
            Format::Json => serde_json::from_slice::<serde::de::IgnoredAny>(content).is_ok(),
            Format::Xml => text(content).is_some_and(|t| t.trim_start().starts_with('<')),
            Format::Text => text(content).is_some(),
        }
    }
}

/// Whether `content` is a program (Windows, Linux, macOS, or a script), whatever its name.
pub fn is_program(content: &[u8]) -> bool {
    const SIGNATURES: [&[u8]; 7] = [
        b"MZ",
        b"\x7fELF",
        b"#!",
        &[0xCF, 0xFA, 0xED, 0xFE],
        &[0xCE, 0xFA, 0xED, 0xFE],
        &[0xCA, 0xFE, 0xBA, 0xBE],
        b"\0asm",
    ];
    SIGNATURES.iter().any(|s| content.starts_with(s))
}

const ZIP: &[u8] = b"PK\x03\x04";

/// A PDF that declares itself PDF/A (ISO 19005) in its XMP metadata: `pdfaid:part`, as an
/// attribute or an element.
pub fn pdf_a(content: &[u8]) -> bool {
    const PART: &[u8] = b"pdfaid:part";
    Format::Pdf.matches(content)
        && content.windows(PART.len()).enumerate().any(|(i, w)| {
            w == PART
                && content
                    .get(i + PART.len()..i + PART.len() + 3)
                    .is_some_and(|next| {
                        let next = next.strip_prefix(b"=").unwrap_or(next);
                        let next = next.strip_prefix(b">").unwrap_or(next);
                        let next = next.strip_prefix(b"\"").unwrap_or(next);
                        next.first().is_some_and(u8::is_ascii_digit)
                    })
        })
}

/// A ZIP container whose first entry is an uncompressed `mimetype` holding `mimetype` (ODF,
/// ASiC): its name at offset 30, its content right after.
fn zip_mimetype(content: &[u8], mimetype: &[u8]) -> bool {
    content.starts_with(ZIP)
        && content.get(30..38) == Some(b"mimetype".as_slice())
        && content
            .get(38..)
            .is_some_and(|rest| rest.starts_with(mimetype))
}

/// A ZIP container (Office Open XML) that names the entry `name`.
fn zip_names(content: &[u8], name: &[u8]) -> bool {
    content.starts_with(ZIP) && content.windows(name.len()).any(|w| w == name)
}

/// A CMS SignedData, DER (a SEQUENCE whose content type is 1.2.840.113549.1.7.2) or PEM.
fn cms(content: &[u8]) -> bool {
    const SIGNED_DATA: &[u8] = &[
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02,
    ];
    let der = content.first() == Some(&0x30)
        && content
            .get(..24)
            .unwrap_or(content)
            .windows(SIGNED_DATA.len())
            .any(|w| w == SIGNED_DATA);
    der || content.starts_with(b"-----BEGIN PKCS7-----")
        || content.starts_with(b"-----BEGIN CMS-----")
}

/// UTF-8 text (a byte-order mark allowed) without control characters other than tab, line
/// and page breaks.
fn text(content: &[u8]) -> Option<&str> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let text = std::str::from_utf8(content).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0C'))
        .then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_a_is_a_pdf_that_says_so_in_its_metadata() {
        let attribute = b"%PDF-1.7\n<rdf:Description pdfaid:part=\"2\" pdfaid:conformance=\"B\"/>";
        let element = b"%PDF-1.4\n<pdfaid:part>1</pdfaid:part><pdfaid:conformance>A";
        assert!(pdf_a(attribute));
        assert!(pdf_a(element));
        assert!(!pdf_a(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>"));
        assert!(!pdf_a(b"PK\x03\x04 pdfaid:part=\"2\""));
        assert!(!pdf_a(b"%PDF-1.7 pdfaid:part"));
    }

    fn zip_with_mimetype(mimetype: &str) -> Vec<u8> {
        let mut z = ZIP.to_vec();
        z.extend_from_slice(&[0; 26]);
        z.extend_from_slice(b"mimetype");
        z.extend_from_slice(mimetype.as_bytes());
        z.extend_from_slice(b"PK\x01\x02rest");
        z
    }

    #[test]
    fn each_format_is_known_by_its_bytes() {
        let files: Vec<(Format, Vec<u8>)> = vec![
            (
                Format::Pdf,
                b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj".to_vec(),
            ),
            (
                Format::Jpeg,
                vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'],
            ),
            (Format::Png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
            (Format::Tiff, b"II*\0\x08\0\0\0".to_vec()),
            (
                Format::Odt,
                zip_with_mimetype("application/vnd.oasis.opendocument.text"),
            ),
            (
                Format::Ods,
                zip_with_mimetype("application/vnd.oasis.opendocument.spreadsheet"),
            ),
            (
                Format::Asice,
                zip_with_mimetype("application/vnd.etsi.asic-e+zip"),
            ),
            (
                Format::Docx,
                [
                    ZIP,
                    b"..[Content_Types].xml..word/document.xml..".as_slice(),
                ]
                .concat(),
            ),
            (
                Format::Xlsx,
                [ZIP, b"..xl/workbook.xml..".as_slice()].concat(),
            ),
            (
                Format::P7s,
                vec![
                    0x30, 0x82, 0x05, 0x10, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01,
                    0x07, 0x02, 0xA0,
                ],
            ),
            (Format::Json, br#"{"a": [1, 2.50]}"#.to_vec()),
            (
                Format::Xml,
                "\u{feff}  <?xml version=\"1.0\"?><a/>".as_bytes().to_vec(),
            ),
            (Format::Text, "Пояснення\r\n\tрядок".as_bytes().to_vec()),
        ];
        for (format, bytes) in &files {
            assert!(format.matches(bytes), "{format:?} not recognised");
            assert!(!is_program(bytes), "{format:?} taken for a program");
        }
        // Only text formats overlap (JSON and XML are text); no binary format takes another's.
        for (format, _) in &files {
            for (other, bytes) in &files {
                let text_family =
                    matches!(other, Format::Json | Format::Xml) && *format == Format::Text;
                if format != other && !text_family {
                    assert!(!format.matches(bytes), "{format:?} took a {other:?} file");
                }
            }
        }
    }

    #[test]
    fn a_program_is_no_document_whatever_its_name() {
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0This program cannot be run in DOS mode";
        assert!(is_program(exe));
        for ext in ["pdf", "jpg", "png", "txt", "xml", "json", "docx", "p7s"] {
            let format = Format::of_extension(ext).unwrap();
            assert!(!format.matches(exe), "a program passed as {ext}");
        }
        assert!(is_program(b"\x7fELF\x02\x01\x01"));
        assert!(is_program(b"#!/bin/sh\nrm -rf /"));
    }

    #[test]
    fn extensions_name_formats_in_any_case() {
        assert_eq!(Format::of_extension("PDF"), Some(Format::Pdf));
        assert_eq!(Format::of_extension("jpeg"), Some(Format::Jpeg));
        assert_eq!(Format::of_extension("Tif"), Some(Format::Tiff));
        assert_eq!(Format::of_extension("exe"), None);
        assert_eq!(Format::of_extension(""), None);
    }
}
