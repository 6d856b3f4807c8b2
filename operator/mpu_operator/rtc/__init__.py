"""The RTC OpenAPI: request signing, the client and its errors."""
