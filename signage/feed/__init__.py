"""The feed room: manifest format, signing, publishing, the content-addressed store and sync.

Modules: ``signing`` (Ed25519 keys and signatures), ``codec`` (model values to and from
JSON), ``manifest`` (``feed.json``), ``folder`` (a feed folder on disk: one consistent
manifest + signature pair read or written, assets pruned; used by publish and the hub),
``publish`` (content root -> static feed folder), ``store`` (the player's
content-addressed cache and trusted state), ``sync`` (keeps a cache in step with a feed),
``transport`` (its one HTTP client), ``errors`` (why a feed was refused or could not be
fetched, one class per cause), ``local`` (the same publish -> apply path in-process for a
local content root). The player's sources that use them are in ``signage.sources``.
"""
