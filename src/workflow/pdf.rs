//! A PDF visual form of text lines: A4 pages, words wrapped to the margins, in the embedded
//! DejaVu Sans (a Type 0 font with a ToUnicode map, cut to the glyphs used), so that every
//! character, Cyrillic too, is in the text layer that readers search and copy. The same lines
//! always give the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::types::UnicodeCmap;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::font_subset;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE`), embedded so that the
/// binary does not depend on the host's fonts.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_NAME: &[u8] = b"DejaVuSans";

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// How a line is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Title,
    Heading,
    Body,
    /// Smaller print: digests, notes.
    Small,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::Title => 15.0,
            Style::Heading => 12.0,
            Style::Body => 10.0,
            Style::Small => 8.0,
        }
    }

    /// Space before a line of this style, in points.
    fn space_before(self) -> f32 {
        match self {
            Style::Title => 0.0,
            Style::Heading => 10.0,
            Style::Body | Style::Small => 2.0,
        }
    }
}

/// One paragraph of the visual form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub style: Style,
    pub text: String,
}

impl Line {
    pub fn new(style: Style, text: impl Into<String>) -> Line {
        Line {
            style,
            text: text.into(),
        }
    }
}

/// The parsed font and its metrics in PDF glyph space (1/1000 of the font size).
struct Font {
    face: ttf_parser::Face<'static>,
    scale: f32,
}

fn font() -> &'static Font {
    static FONT_FACE: OnceLock<Font> = OnceLock::new();
    FONT_FACE.get_or_init(|| {
        let face = ttf_parser::Face::parse(FONT, 0).expect("the embedded DejaVu Sans parses");
        let scale = 1000.0 / f32::from(face.units_per_em());
        Font { face, scale }
    })
}

/// The font file as the PDF embeds it (zlib), compressed once per process.
fn compressed_font() -> &'static [u8] {
    static COMPRESSED: OnceLock<Vec<u8>> = OnceLock::new();
    COMPRESSED.get_or_init(|| deflate(FONT))
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .expect("compressing into memory does not fail")
}

impl Font {
    /// The glyph of `c`, or of `?` for a character the font lacks.
    fn glyph(&self, c: char) -> u16 {
        self.face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map_or(0, |g| g.0)
    }

    /// The advance of glyph `gid` in glyph space.
    fn advance(&self, gid: u16) -> f32 {
        self.face
            .glyph_hor_advance(ttf_parser::GlyphId(gid))
            .map_or(0.0, |a| f32::from(a) * self.scale)
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }
}

/// `text` broken into lines no wider than `width` at `size`: at spaces, and inside a word only
/// when the word alone is wider.
fn wrap(font: &Font, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if font.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                line.push(c);
                if font.width(&line, size) > width {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// The PDF of `lines`, titled `title` in its metadata.
pub fn render(title: &str, lines: &[Line]) -> Vec<u8> {
    let font = font();
    let width = PAGE_WIDTH - 2.0 * MARGIN;
    let mut used: BTreeMap<u16, char> = BTreeMap::new();
    let mut pages: Vec<Content> = Vec::new();
    let mut content = Content::new();
    let mut y = PAGE_HEIGHT - MARGIN;
    let font_key = Name(b"F1");
    for line in lines {
        let size = line.style.size();
        let leading = size * 1.4;
        y -= line.style.space_before();
        for text in wrap(font, &line.text, size, width) {
            if y - leading < MARGIN {
                pages.push(std::mem::replace(&mut content, Content::new()));
                y = PAGE_HEIGHT - MARGIN;
            }
            y -= leading;
            let mut encoded = Vec::with_capacity(text.len() * 2);
            for c in text.chars() {
                let gid = font.glyph(c);
                used.entry(gid).or_insert(c);
                encoded.extend_from_slice(&gid.to_be_bytes());
            }
            content.begin_text();
            content.set_font(font_key, size);
            content.next_line(MARGIN, y);
            content.show(Str(&encoded));
            content.end_text();
        }
    }
    pages.push(content);

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let type0 = alloc();
    let cid = alloc();
    let descriptor = alloc();
    let file = alloc();
    let cmap = alloc();
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(page_refs.len() as i32);
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("hromada"));
    for ((page_ref, content_ref), content) in page_refs.iter().zip(pages) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(*content_ref);
        page.resources().fonts().pair(font_key, type0);
        page.finish();
        let stream = deflate(&content.finish());
        pdf.stream(*content_ref, &stream)
            .filter(Filter::FlateDecode);
    }

    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(type0)
        .base_font(Name(FONT_NAME))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(FONT_NAME))
        .system_info(system)
        .font_descriptor(descriptor)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    {
        let mut widths = cid_font.widths();
        for gid in used.keys() {
            widths.consecutive(*gid, [font.advance(*gid)]);
        }
    }
    cid_font.finish();

    let face = &font.face;
    let bbox = face.global_bounding_box();
    let s = font.scale;
    pdf.font_descriptor(descriptor)
        .name(Name(FONT_NAME))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * s,
            f32::from(bbox.y_min) * s,
            f32::from(bbox.x_max) * s,
            f32::from(bbox.y_max) * s,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(face.ascender()) * s)
        .descent(f32::from(face.descender()) * s)
        .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * s)
        .stem_v(80.0)
        .font_file2(file);
    // Only the glyphs used are embedded; should the font not cut, all of it is.
    let (compressed, length) = match font_subset::subset(FONT, used.keys().copied()) {
        Ok(cut) => (deflate(&cut), cut.len()),
        Err(_) => (compressed_font().to_vec(), FONT.len()),
    };
    pdf.stream(file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), length as i32);

    let mut unicode = UnicodeCmap::new(Name(b"Custom"), system);
    for (gid, c) in &used {
        unicode.pair(*gid, *c);
    }
    pdf.cmap(cmap, &unicode.finish())
        .name(Name(b"Custom"))
        .system_info(system);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_within_the_margins_and_a_long_word_is_cut() {
        let font = font();
        let text = "Прошу надати одноразову матеріальну допомогу у зв'язку з тривалим лікуванням";
        let lines = wrap(font, text, 10.0, 150.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines.iter().all(|l| font.width(l, 10.0) <= 150.0));
        assert_eq!(lines.join(" "), text);
        let digest = "a".repeat(200);
        let cut = wrap(font, &digest, 10.0, 150.0);
        assert!(cut.len() > 1 && cut.concat() == digest, "{cut:?}");
    }

    #[test]
    fn the_same_lines_give_the_same_pdf_and_many_lines_give_pages() {
        let lines: Vec<Line> = (0..120)
            .map(|i| Line::new(Style::Body, format!("Рядок {i}")))
            .collect();
        let first = render("Заява", &lines);
        assert_eq!(first, render("Заява", &lines));
        assert!(first.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&first);
        assert!(
            text.contains("/Count 3"),
            "45 lines of body text fit on a page"
        );
    }
}
