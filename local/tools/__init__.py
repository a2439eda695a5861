"""Developer tools: a scriptable WebSocket client, local token minting, the OpenAPI printer."""
