print('files')
