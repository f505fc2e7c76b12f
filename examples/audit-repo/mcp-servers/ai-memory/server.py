print('ai-memory')
