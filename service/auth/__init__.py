"""Who may do what: users with roles, password hashing, bearer tokens, the login rate limit and the audit log.

- Passwords: salted scrypt (:mod:`service.auth.passwords`).
- Tokens: random values handed out once and kept only as their sha256; sessions come from a login (also set as
  an HttpOnly cookie for the web UI), API tokens are created by an admin for camera/photo ingest. Both expire
  and can be revoked (:mod:`service.auth.tokens`).
- Roles: admin, operator, unit_handler (its grids only), viewer (read-only) (:mod:`service.auth.users`).
"""
