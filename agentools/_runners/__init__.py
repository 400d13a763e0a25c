"""The two runners: the I/O the machine's steps name, with the sync ``openai.OpenAI`` client and
threads (``blocking``), or with ``openai.AsyncOpenAI`` and tasks (``aio``)."""
