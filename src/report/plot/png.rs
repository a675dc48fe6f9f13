//! SVG to PNG with resvg (pure Rust): the charts' text is set in a system sans-serif font, if the
//! machine has one (without fonts the lines are drawn and the labels left out).

use std::sync::{Arc, OnceLock};

/// The system's fonts, loaded once per process.
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_system_fonts();
            // The charts ask for "sans-serif", which fontdb maps to Arial: use a sans-serif face the
            // machine has instead.
            let has = |name: &str| db.faces().any(|f| f.families.iter().any(|(n, _)| n == name));
            let known = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"];
            let family = known
                .iter()
                .find(|n| has(n))
                .map(|n| n.to_string())
                .or_else(|| db.faces().next().and_then(|f| f.families.first().map(|(n, _)| n.clone())));
            if let Some(family) = family {
                db.set_sans_serif_family(family);
            }
            Arc::new(db)
        })
        .clone()
}

/// Rasterises `svg` at its own size into a PNG file's bytes.
pub(super) fn render(svg: &str) -> Result<Vec<u8>, String> {
    let opts = resvg::usvg::Options { fontdb: fonts(), ..Default::default() };
    let tree = resvg::usvg::Tree::from_str(svg, &opts).map_err(|e| format!("SVG to PNG: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("SVG to PNG: cannot make a {}x{} image", size.width(), size.height()))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| format!("SVG to PNG: {e}"))
}
