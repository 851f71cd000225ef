//! Resources: data a component loads through a server function, rendered
//! into the page by the server and read back by the browser when it
//! hydrates, instead of being fetched a second time.
//!
//! Every component that loads server data makes its resource with
//! [`server_resource`] rather than `Resource::new`. The only difference is
//! the codec, [`Json`], and it exists for the size of the WASM bundle:
//! Leptos' default codec reads the page's JSON with `serde_json::from_str`,
//! while server functions read their responses with `serde_json::from_slice`.
//! Those are two distinct readers, so every type that is both carried in the
//! page and returned by a server function was compiled into the bundle
//! twice, once per reader. [`Json`] reads the page's JSON as bytes, through
//! the server functions' reader, and so does [`from_json`], which the
//! browser's other JSON (live events, error bodies) goes through. The JSON
//! itself is unchanged.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;

/// JSON, written with `serde_json::to_string` and read with
/// `serde_json::from_slice` (see the module documentation for why).
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(json: &str) -> Result<T, serde_json::Error> {
        from_json(json)
    }
}

/// Reads JSON text with the one reader the browser bundle carries
/// (`serde_json::from_slice`; see the module documentation).
pub fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(json.as_bytes())
}

/// The result of a server function, loaded as a resource.
pub type ServerResource<T> = Resource<Result<T, ServerFnError>, Json>;

/// `Resource::new` with the [`Json`] codec: `fetcher` runs on the server
/// while it renders the page, and again in the browser whenever `source`
/// changes.
#[track_caller]
pub fn server_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> ServerResource<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ServerFnError>> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_reports_bad_input() {
        let value: Result<Vec<String>, ServerFnError> = Ok(vec!["a\"b".into(), "é".into()]);
        let json = <Json as Encoder<_>>::encode(&value).unwrap();
        let back: Result<Vec<String>, ServerFnError> = Json::decode(&json).unwrap();
        assert_eq!(back.unwrap(), vec!["a\"b".to_string(), "é".to_string()]);
        assert!(<Json as Decoder<Vec<String>>>::decode("[1,").is_err());
    }
}
