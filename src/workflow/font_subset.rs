//! A TrueType font cut down to the glyphs a PDF uses: every other glyph's outline is emptied
//! (glyph ids stay, so the PDF's identity CID map holds) and the tables a PDF viewer does not read
//! (layout, kerning) are left out, so that a stored document carries kilobytes of font, not the
//! whole face. Anything it cannot read is an error; the caller then embeds the whole font.

use std::collections::BTreeSet;

/// The tables a PDF's embedded TrueType font keeps; the rest are dropped.
const KEPT: [&[u8; 4]; 13] = [
    b"OS/2", b"cmap", b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp",
    b"name", b"post", b"prep",
];

/// Composite glyph flags (OpenType `glyf`).
const ARG_1_AND_2_ARE_WORDS: u16 = 0x0001;
const WE_HAVE_A_SCALE: u16 = 0x0008;
const MORE_COMPONENTS: u16 = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE: u16 = 0x0040;
const WE_HAVE_A_TWO_BY_TWO: u16 = 0x0080;

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// `font` with only `used` glyphs (and `.notdef`, and the parts of composite glyphs) outlined.
pub fn subset(font: &[u8], used: impl IntoIterator<Item = u16>) -> Result<Vec<u8>, String> {
    let unreadable = || "the font's tables cannot be read".to_string();
    let count = usize::from(u16_at(font, 4).ok_or_else(unreadable)?);
    let mut tables: Vec<([u8; 4], &[u8])> = Vec::with_capacity(count);
    for i in 0..count {
        let record = 12 + 16 * i;
        let tag: [u8; 4] = font
            .get(record..record + 4)
            .and_then(|t| t.try_into().ok())
            .ok_or_else(unreadable)?;
        let offset = u32_at(font, record + 8).ok_or_else(unreadable)? as usize;
        let length = u32_at(font, record + 12).ok_or_else(unreadable)? as usize;
        let data = font.get(offset..offset + length).ok_or_else(unreadable)?;
        tables.push((tag, data));
    }
    let table = |tag: &[u8; 4]| {
        tables
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, d)| *d)
            .ok_or_else(|| format!("the font has no `{}` table", String::from_utf8_lossy(tag)))
    };
    let (head, maxp, loca, glyf) = (
        table(b"head")?,
        table(b"maxp")?,
        table(b"loca")?,
        table(b"glyf")?,
    );
    let glyphs = usize::from(u16_at(maxp, 4).ok_or_else(unreadable)?);
    let long = u16_at(head, 50).ok_or_else(unreadable)? == 1;
    let span = |gid: usize| -> Option<(usize, usize)> {
        let (start, end) = if long {
            (
                u32_at(loca, gid * 4)? as usize,
                u32_at(loca, gid * 4 + 4)? as usize,
            )
        } else {
            (
                usize::from(u16_at(loca, gid * 2)?) * 2,
                usize::from(u16_at(loca, gid * 2 + 2)?) * 2,
            )
        };
        (start <= end && end <= glyf.len()).then_some((start, end))
    };

    let mut keep: BTreeSet<usize> = used.into_iter().map(usize::from).collect();
    keep.insert(0);
    let mut pending: Vec<usize> = keep.iter().copied().collect();
    while let Some(gid) = pending.pop() {
        let (start, end) = span(gid).ok_or_else(unreadable)?;
        let outline = &glyf[start..end];
        if outline.len() < 10 || (u16_at(outline, 0).ok_or_else(unreadable)? as i16) >= 0 {
            continue;
        }
        let mut at = 10;
        loop {
            let flags = u16_at(outline, at).ok_or_else(unreadable)?;
            let part = usize::from(u16_at(outline, at + 2).ok_or_else(unreadable)?);
            if part < glyphs && keep.insert(part) {
                pending.push(part);
            }
            at += 4 + if flags & ARG_1_AND_2_ARE_WORDS != 0 {
                4
            } else {
                2
            };
            at += if flags & WE_HAVE_A_SCALE != 0 {
                2
            } else if flags & WE_HAVE_AN_X_AND_Y_SCALE != 0 {
                4
            } else if flags & WE_HAVE_A_TWO_BY_TWO != 0 {
                8
            } else {
                0
            };
            if flags & MORE_COMPONENTS == 0 {
                break;
            }
        }
    }

    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity((glyphs + 1) * 4);
    for gid in 0..glyphs {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if keep.contains(&gid) {
            let (start, end) = span(gid).ok_or_else(unreadable)?;
            new_glyf.extend_from_slice(&glyf[start..end]);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    let mut new_head = head.to_vec();
    new_head.get_mut(8..12).ok_or_else(unreadable)?.fill(0);
    new_head
        .get_mut(50..52)
        .ok_or_else(unreadable)?
        .copy_from_slice(&1u16.to_be_bytes());

    let mut out_tables: Vec<(&[u8; 4], Vec<u8>)> = Vec::new();
    for tag in KEPT {
        let data = match tag {
            // Version 3: the same metrics, without the names of every glyph (a PDF needs none).
            b"post" => match table(tag)?.get(..32) {
                Some(header) => [&0x0003_0000u32.to_be_bytes()[..], &header[4..]].concat(),
                None => return Err(unreadable()),
            },
            b"glyf" => new_glyf.clone(),
            b"loca" => new_loca.clone(),
            b"head" => new_head.clone(),
            _ => match table(tag) {
                Ok(data) => data.to_vec(),
                Err(_) => continue,
            },
        };
        out_tables.push((tag, data));
    }
    Ok(assemble(font, &out_tables))
}

/// The font file of `tables` (sorted by tag, as `KEPT` is), with the sfnt header of `original`,
/// each table's checksum and the whole file's checksum adjustment in `head`.
fn assemble(original: &[u8], tables: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let count = tables.len() as u16;
    let mut power = 1u16;
    let mut selector = 0u16;
    while power * 2 <= count {
        power *= 2;
        selector += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&original[..4]);
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&(power * 16).to_be_bytes());
    out.extend_from_slice(&selector.to_be_bytes());
    out.extend_from_slice(&(count * 16 - power * 16).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in tables {
        out.extend_from_slice(&tag[..]);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if *tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    if let Some(at) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[at + 8..at + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    out
}

/// The OpenType checksum of `data`: its big-endian words added, the last one padded with zeros.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

    #[test]
    fn a_subset_keeps_the_glyphs_used_under_their_ids_and_is_small() {
        let face = ttf_parser::Face::parse(FONT, 0).unwrap();
        let used: Vec<u16> = "Довідка № 17/2026, Ї ї é"
            .chars()
            .filter_map(|c| face.glyph_index(c).map(|g| g.0))
            .collect();
        let small = subset(FONT, used.iter().copied()).unwrap();
        assert!(small.len() < FONT.len() / 5, "{} bytes", small.len());
        let cut = ttf_parser::Face::parse(&small, 0).unwrap();
        assert_eq!(cut.number_of_glyphs(), face.number_of_glyphs());
        for c in "Довідка № 17/2026, Ї ї é".chars() {
            let gid = face.glyph_index(c).unwrap();
            assert_eq!(cut.glyph_index(c), Some(gid), "{c}");
            assert_eq!(
                cut.glyph_bounding_box(gid),
                face.glyph_bounding_box(gid),
                "{c}"
            );
            assert_eq!(
                cut.glyph_hor_advance(gid),
                face.glyph_hor_advance(gid),
                "{c}"
            );
        }
        let unused = face.glyph_index('Ж').unwrap();
        assert_eq!(
            cut.glyph_bounding_box(unused),
            None,
            "an unused glyph has no outline"
        );
        assert_eq!(checksum(&small), 0xB1B0_AFBA, "the whole file's checksum");
        assert_eq!(
            subset(FONT, used).unwrap(),
            small,
            "the same glyphs, the same bytes"
        );
        assert!(subset(b"not a font", [1]).is_err());
    }
}
