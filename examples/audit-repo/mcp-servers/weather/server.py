print('weather')
