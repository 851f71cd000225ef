//! The WASM entry point: hydrates the page the server rendered.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // A settings or sign-in page's code, and an open ticket's, is a chunk
    // of its own (app::on_demand), which must be here before hydration
    // reaches it; any other page hydrates at once (the future is ready on
    // its first poll).
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    wasm_bindgen_futures::spawn_local(async move {
        if app::on_demand::load_code_for(&path).await {
            leptos::mount::hydrate_body(app::App);
        } else {
            // Without the page's code, hydrating would not match the
            // server's HTML. The page stays as the server rendered it, its
            // links working, as when the main bundle cannot be fetched.
            leptos::logging::error!("Ayuda: this page's code could not be fetched");
        }
    });
}
