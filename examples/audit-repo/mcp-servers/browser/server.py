print('browser')
