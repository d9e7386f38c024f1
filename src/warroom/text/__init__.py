"""Text rules: untrusted bytes made inert, durations, markdown escaping."""
