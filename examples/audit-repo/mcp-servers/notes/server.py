print('notes')
