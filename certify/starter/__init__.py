"""The starter kit that `certify init` writes: actions.yaml, templates and layouts in Dutch
and English, the logo, the JSON Schema, a crontab line. Package data, so an installed
certify carries it."""
